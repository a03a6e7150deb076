"""`lakestack serve` as a real server on 127.0.0.1: payloads, graceful shutdown, kill -9."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
from _serving_kit import FEATURES, Served, frame, stopped_gracefully

from lakestack.config import Project
from lakestack.lake import Lake
from lakestack.serving import ServerProcess, inference_table, spool_root


def _table(served: Served) -> list[dict[str, Any]]:
    lake = Lake.for_environment(served.project, "prod")
    if not lake.exists(inference_table("tiny")):
        return []
    return lake.read(inference_table("tiny")).to_pylist()  # type: ignore[no-any-return]


def _serve_sklearn(
    served: Served, server_factory: Callable[..., ServerProcess], **endpoint: Any
) -> tuple[Project, ServerProcess]:
    """The sklearn model logged, and served by a started `lakestack serve` with these endpoint
    settings."""
    served.log_sklearn()
    project = served.configure(**endpoint)
    return project, server_factory(project).start()


def test_served_predictions_match_and_sigterm_flushes_the_log(
    served: Served, server_factory: Callable[..., ServerProcess]
) -> None:
    # only the shutdown flush writes
    project, server = _serve_sklearn(served, server_factory, log_interval_s=60.0)
    x = frame(4, seed=5)
    want = np.asarray(served.registry.load_model("tiny").predict(x))
    ids = []
    for payload in (
        {"dataframe_split": {"columns": FEATURES, "data": x.to_numpy().tolist()}},
        {"dataframe_records": x.to_dict(orient="records")},
        {"inputs": {c: x[c].tolist() for c in FEATURES}},
    ):
        response = httpx.post(server.url + "/invocations", json=payload, timeout=10)
        assert response.status_code == 200, response.text
        assert np.allclose(response.json()["predictions"], want)
        ids.append(response.headers["X-Request-ID"])
    assert _table(served) == []  # not yet appended: the interval is a minute
    assert stopped_gracefully(server)
    rows = _table(served)
    assert Counter(r["request_id"] for r in rows) == dict.fromkeys(ids, 4)
    assert list(spool_root(project, "prod", "tiny").iterdir()) == []


def test_kill_9_under_load_loses_and_duplicates_nothing(
    served: Served, server_factory: Callable[..., ServerProcess]
) -> None:
    project, server = _serve_sklearn(served, server_factory, log_interval_s=0.05)
    acknowledged: list[str] = []
    stop = threading.Event()

    def client(seed: int) -> None:
        rng = np.random.default_rng(seed)
        with httpx.Client(timeout=5) as http:
            while not stop.is_set():
                row = rng.normal(size=3).tolist()
                try:
                    r = http.post(server.url + "/invocations", json={"instances": [row]})
                except httpx.HTTPError:
                    continue
                if r.status_code == 200:
                    acknowledged.append(r.headers["X-Request-ID"])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    server.kill()  # SIGKILL in the middle of the load
    stop.set()
    for t in threads:
        t.join()
    assert len(acknowledged) > 20
    restarted = server_factory(project).start()  # replays the dead process's spool
    assert stopped_gracefully(restarted)
    counts = Counter(r["request_id"] for r in _table(served) if r["variant"] == "production")
    missing = [i for i in acknowledged if counts.get(i) != 1]
    assert missing == [], f"{len(missing)} acknowledged requests missing or duplicated"
    assert all(n == 1 for n in counts.values())


def test_two_workers_each_spool_and_flush_on_sigterm(
    served: Served, server_factory: Callable[..., ServerProcess]
) -> None:
    project, server = _serve_sklearn(served, server_factory, workers=2, log_interval_s=60.0)
    ids = []
    with httpx.Client(timeout=10) as http:
        for i in range(40):
            r = http.post(server.url + "/invocations", json={"instances": [[i, 0.0, 1.0]]})
            assert r.status_code == 200, r.text
            ids.append(r.headers["X-Request-ID"])
    assert stopped_gracefully(server)
    counts = Counter(r["request_id"] for r in _table(served))
    assert counts == dict.fromkeys(ids, 1)
    assert list(spool_root(project, "prod", "tiny").iterdir()) == []


def test_a_boolean_model_is_logged_across_a_restart(
    served: Served, server_factory: Callable[..., ServerProcess]
) -> None:
    """Every record of a model with a boolean input reaches Delta, and a restart is ready."""
    served.log_typed({"flag": "boolean", "x": "double"})
    project = served.configure(log_interval_s=60.0)
    server = server_factory(project).start()
    ids = []
    for i in range(3):
        body = {"dataframe_records": [{"flag": i % 2 == 0, "x": float(i)}]}
        response = httpx.post(server.url + "/invocations", json=body, timeout=10)
        assert response.status_code == 200, response.text
        ids.append(response.headers["X-Request-ID"])
    assert stopped_gracefully(server)
    restarted = server_factory(project).start()
    assert httpx.get(restarted.url + "/ready", timeout=10).json()["status"] == "ready"
    assert stopped_gracefully(restarted)
    rows = {r["request_id"]: r["flag"] for r in _table(served)}
    assert rows == dict(zip(ids, [True, False, True], strict=True))


def test_a_client_that_disconnects_mid_body_is_not_a_model_error(
    served: Served, server_factory: Callable[..., ServerProcess]
) -> None:
    _, server = _serve_sklearn(served, server_factory, log_interval_s=60.0)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n" + b'{"instances": [[1.0, '
        )
    deadline = time.monotonic() + 60
    while 'status="499"' not in (metrics := httpx.get(server.url + "/metrics").text):
        assert time.monotonic() < deadline, metrics
        time.sleep(0.1)
    assert 'kind="disconnected"' in metrics
    assert 'kind="model"' not in metrics and 'status="500"' not in metrics
    assert stopped_gracefully(server)
    (row,) = _table(served)
    assert row["status"] == 499 and "disconnected" in str(row["error"])
