"""An endpoint with `engine: ray`: `lakestack serve` deploys it on Ray Serve, on a Ray head the
tests start on 127.0.0.1 (`ray start --head`): replicas rise under load and fall when idle, and
a replica killed under load loses no acknowledged record."""

from __future__ import annotations

import contextlib
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml
from _serving_kit import Served

from _kit.access import log_tiny_model, write_access_project
from _kit.clusters import RayCluster
from _kit.loops import wait_until
from lakestack.config import load_project
from lakestack.lake import Lake
from lakestack.ray_connect import connect_ray
from lakestack.registry import ModelRegistry
from lakestack.serving import ServerProcess, inference_table, spool_root

APP, DEPLOYMENT = "lakestack-tiny", "tiny"


@pytest.fixture
def ray_client(ray_cluster: RayCluster) -> Iterator[Any]:
    """This process connected to the test cluster (to read Serve's status, to kill a replica)."""
    import ray
    from ray import serve

    connect_ray(ray_cluster.address)  # a busy head may refuse a client: it tries again
    try:
        yield ray
    finally:  # a test that failed may have left its application and Serve's proxy behind
        with contextlib.suppress(Exception):
            serve.shutdown()
        ray.shutdown()


def _on_ray(served: Served, cluster: RayCluster, **endpoint: Any) -> None:
    """The endpoint `tiny` with `engine: ray`, in an environment whose engine is the cluster."""
    served.configure(engine="ray", **endpoint)
    doc = yaml.safe_load((served.root / "lakestack.yaml").read_text())
    doc["environments"]["prod"]["engine"] = cluster.address
    (served.root / "lakestack.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    served.project = load_project(served.root)


RayServer = Callable[[dict[str, Any]], ServerProcess]


@pytest.fixture
def serve_on_ray(
    served: Served, ray_cluster: RayCluster, server_factory: Callable[..., ServerProcess]
) -> RayServer:
    """Start `lakestack serve` of a scikit-learn `tiny` on the cluster with these autoscaling
    settings; its records reach Delta only when a replica goes (or at exit), not on a timer."""

    def start(autoscaling: dict[str, Any]) -> ServerProcess:
        served.log_sklearn()
        _on_ray(served, ray_cluster, autoscaling=autoscaling, log_interval_s=3600)
        return server_factory(served.project).start(timeout=300)

    return start


def _replicas(ray: Any) -> dict[str, int]:
    """The endpoint's replicas by state (`RUNNING`, `STARTING`, `STOPPING`, ...)."""
    from ray import serve

    app = serve.status().applications.get(APP)
    if app is None or DEPLOYMENT not in app.deployments:
        return {}
    return {str(state): n for state, n in app.deployments[DEPLOYMENT].replica_states.items()}


def _running(ray: Any) -> int:
    return sum(n for state, n in _replicas(ray).items() if state.endswith("RUNNING"))


class _Load:
    """Client threads posting single-row requests until stopped; the ids answered 200."""

    def __init__(self, url: str, threads: int) -> None:
        self.url = url
        self.acknowledged: list[str] = []
        self.failed = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(i,)) for i in range(threads)]
        for thread in self._threads:
            thread.start()

    def _client(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        with httpx.Client(timeout=30) as http:
            while not self._stop.is_set():
                try:
                    r = http.post(self.url, json={"instances": [rng.normal(size=3).tolist()]})
                except httpx.HTTPError:
                    self.failed += 1
                    continue
                if r.status_code == 200:
                    self.acknowledged.append(_request_id(r))
                else:
                    self.failed += 1

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def _request_id(response: httpx.Response) -> str:
    """The endpoint's request id: the first `X-Request-ID` (Serve's proxy adds its own)."""
    ours, serves = response.headers.get_list("X-Request-ID")
    assert len(ours) == 32 and ours != serves
    return ours


def _logged(served: Served) -> Counter[str]:
    lake = Lake.for_environment(served.project, "prod")
    table = lake.read(inference_table("tiny")).to_pylist()
    return Counter(r["request_id"] for r in table if r["variant"] == "production")


def test_replicas_rise_under_load_fall_to_zero_when_idle_and_flush_as_they_go(
    served: Served, ray_client: Any, serve_on_ray: RayServer
) -> None:
    # its probe of /ready starts a replica (which may be gone again, idle, by the next line)
    server = serve_on_ray(
        {
            "min_replicas": 0,
            "max_replicas": 2,
            "target_ongoing_requests": 1,
            "upscale_delay_s": 1,
            "downscale_delay_s": 2,
            "look_back_period_s": 2,
            "replica_cpus": 0.5,
        }
    )
    load = _Load(server.url + "/invocations", threads=8)
    try:
        wait_until(lambda: _running(ray_client) == 2, "a second replica under load", timeout=300)
        wait_until(lambda: len(load.acknowledged) > 50, "answers from the replicas", timeout=300)
        # `lakestack serve` logs what the autoscaler did (it reads Serve's status every few
        # seconds: the load holds the two replicas until it has seen them)
        wait_until(
            lambda: "tiny replicas: {'RUNNING': 2}" in server.log_text(),
            "the scale-up in the log",
            timeout=300,
        )
    finally:
        load.stop()
    wait_until(lambda: not any(_replicas(ray_client).values()), "no replica once idle", timeout=300)
    wait_until(
        lambda: "tiny replicas: none" in server.log_text(), "the scale-down in the log", timeout=300
    )
    counts = _logged(served)  # the endpoint still runs: the removed replicas flushed
    assert [i for i in load.acknowledged if counts.get(i) != 1] == []
    assert len({i[:16] for i in load.acknowledged}) == 2  # request ids name their replica
    assert list(spool_root(served.project, "prod", "tiny").iterdir()) == []
    after = httpx.post(
        server.url + "/invocations", json={"instances": [[0.1, 0.2, 0.3]]}, timeout=300
    )
    assert after.status_code == 200, after.text  # a replica started for it
    assert stopped_gracefully_on_ray(server)
    assert _logged(served)[_request_id(after)] == 1
    assert list(spool_root(served.project, "prod", "tiny").iterdir()) == []


def test_a_replica_killed_under_load_loses_no_acknowledged_record(
    served: Served, ray_client: Any, serve_on_ray: RayServer
) -> None:
    # nothing reaches Delta before the kill: only the replica's spool has it
    server = serve_on_ray({"min_replicas": 2, "max_replicas": 2, "replica_cpus": 0.5})
    wait_until(lambda: _running(ray_client) == 2, "two replicas", timeout=300)
    load = _Load(server.url + "/invocations", threads=6)
    try:
        wait_until(
            lambda: len({i[:16] for i in load.acknowledged}) == 2,
            "both replicas answer",
            timeout=300,
        )
        victim = _a_replica_actor(ray_client)
        ray_client.kill(victim, no_restart=True)
        before = len(load.acknowledged)
        wait_until(
            lambda: len(load.acknowledged) > before + 50, "answers after the kill", timeout=300
        )
        wait_until(
            lambda: _running(ray_client) == 2,
            "a new replica in place of the killed one",
            timeout=300,
        )
    finally:
        load.stop()
    assert stopped_gracefully_on_ray(server)
    counts = _logged(served)
    missing = [i for i in load.acknowledged if counts.get(i) != 1]
    assert missing == [], f"{len(missing)} acknowledged requests missing or duplicated"
    assert all(n == 1 for n in counts.values())
    assert list(spool_root(served.project, "prod", "tiny").iterdir()) == []


def _a_replica_actor(ray: Any) -> Any:
    from ray.util import list_named_actors

    names = [
        a["name"]
        for a in list_named_actors(all_namespaces=True)
        if a["namespace"] == "serve" and a["name"].startswith(f"SERVE_REPLICA::{APP}#")
    ]
    assert names, "no replica actor of the endpoint"
    return ray.get_actor(names[0], namespace="serve")


def stopped_gracefully_on_ray(server: ServerProcess) -> bool:
    """SIGTERM: `lakestack serve` deletes the application, whose replicas flush their logs."""
    return server.stop(timeout=180)


def test_token_auth_and_the_principal_reach_the_replicas(
    tmp_path: Path,
    mlflow_db: Path,
    ray_cluster: RayCluster,
    ray_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`auth: token` through Serve's proxy, and the `LAKESTACK_*` variables of `lakestack
    serve` (the principal its replicas write the inference table as) in the replicas."""
    from lakestack.access import acting_as, create_token

    monkeypatch.delenv("LAKESTACK_TOKEN", raising=False)
    endpoint = {
        "model": "tiny",
        "auth": "token",
        "engine": "ray",
        "autoscaling": {"min_replicas": 1, "max_replicas": 1, "replica_cpus": 0.5},
        "log_interval_s": 0.2,
    }
    project = write_access_project(
        tmp_path / "aproj",
        mlflow_db=mlflow_db,
        environments={"prod": {"engine": ray_cluster.address}},
        endpoints={"tiny": endpoint},
    )
    with acting_as("dep1"):
        version = log_tiny_model(project, "prod", "tiny")
        ModelRegistry(project, "prod").promote(
            "tiny", version, to="production", force=True, reason="test"
        )
    with acting_as("alice"):
        reader = create_token(project, "dev1", ["prod"]).token
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKESTACK_")}
    env["LAKESTACK_PRINCIPAL"] = "dep1"  # the prod service that runs the endpoint
    server = ServerProcess.lakestack_serve(project.root, "tiny", "prod", env=env)
    server.start(timeout=300)
    url, body = server.url + "/invocations", {"instances": [[0.1, 0.2]]}
    try:
        refused = httpx.post(url, json=body, timeout=60)
        accepted = httpx.post(url, json=body, headers={"Authorization": f"Bearer {reader}"})
    finally:
        assert stopped_gracefully_on_ray(server)
    assert (refused.status_code, accepted.status_code) == (401, 200), accepted.text
    logged = Lake.for_environment(project, "prod").read(inference_table("tiny")).to_pylist()
    assert [row["request_id"] for row in logged] == [_request_id(accepted)]
