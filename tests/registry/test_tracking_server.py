"""The models flow against an MLflow tracking server started by the tests: `mlflow server`
with a PostgreSQL backend and its artifacts on the S3-compatible test server, selected by
`tracking: http://127.0.0.1:<port>` in lakestack.yaml. Log, gates, promote, rollback,
reproduce, and an endpoint that follows the alias."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from _registry_kit import Kit, log_tinyml, make_frame
from test_reproduce import tinyml_repo

from _kit import write_project
from _kit.clusters import MlflowServer, S3Server
from lakestack.config import Project
from lakestack.errors import GateFailedError
from lakestack.serving import ServerProcess


def _objects(s3: S3Server, uri: str) -> list[str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    listing = s3.client().list_objects_v2(Bucket=bucket, Prefix=prefix)  # type: ignore[attr-defined]
    return [item["Key"] for item in listing.get("Contents", [])]


def _with_endpoint(kit: Kit, gates: dict[str, Any]) -> Project:
    """The kit's project with an endpoint `tiny` serving its model from dev, polling often."""
    return write_project(
        kit.root,
        name="regtest",
        environments={"dev": {"tracking": kit.dev_tracking}, "prod": {}},
        mlflow_db=kit.mlflow_db,
        models={kit.model: {"label": "y", "gates": gates}},
        endpoints={"tiny": {"model": kit.model, "poll_interval_s": 0.5, "log_interval_s": 0.2}},
    )


def _served_version(server: ServerProcess, want: int, timeout: float = 120.0) -> int:
    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        seen = httpx.get(server.url + "/ready", timeout=5.0).json().get("version", -1)
        if seen == want:
            return int(seen)
        time.sleep(0.5)
    return int(seen)


@pytest.fixture
def server_kit(tmp_path: Path, mlflow_server: MlflowServer, mlflow_db: Path) -> Kit:
    """A project in a git repository whose dev environment tracks on the MLflow server."""
    return tinyml_repo(tmp_path, mlflow_server.url, mlflow_db)


def test_the_models_flow_runs_against_the_tracking_server(
    server_kit: Kit,
    mlflow_server: MlflowServer,
    s3_server: S3Server,
    server_factory: Callable[..., ServerProcess],
) -> None:
    kit = server_kit
    assert kit.project.environment("dev").tracking_uri == mlflow_server.url
    reg = kit.configure({"thresholds": ["roc_auc >= 0.7"]})
    before = set(_objects(s3_server, mlflow_server.artifacts))
    first = kit.log(kit.train())
    # The model's files went through the server to the object store, not to a local folder.
    assert set(_objects(s3_server, mlflow_server.artifacts)) - before
    assert not (kit.root / ".lakestack" / "dev" / "mlartifacts").exists()

    promoted = reg.promote(kit.model, first.version, to="production", reason="first")
    assert promoted.applied and promoted.report.passed
    noise = kit.log(kit.train("noise"))
    with pytest.raises(GateFailedError):
        reg.promote(kit.model, noise.version, to="production")
    assert reg.alias_holder(kit.model, "production").version == first.version  # type: ignore[union-attr]
    second = kit.log(kit.train(seed=2))
    reg.promote(kit.model, second.version, to="production", reason="retrained")

    # An endpoint on the server's registry serves production and follows it when it moves.
    kit.project = _with_endpoint(kit, {"thresholds": ["roc_auc >= 0.7"]})
    served = server_factory(kit.project, "tiny", "dev").start()
    assert _served_version(served, second.version) == second.version
    assert (
        httpx.post(
            served.url + "/invocations",
            json={"dataframe_records": make_frame(3, 5).select(["x1", "x2", "o"]).to_dicts()},
            timeout=30.0,
        ).status_code
        == 200
    )
    back = reg.rollback(kit.model, reason="bad latency")
    assert (back.from_version, back.to_version) == (second.version, first.version)
    assert _served_version(served, first.version) == first.version
    actions = [(t.action, t.to_version) for t in reg.history(kit.model)]
    assert actions[-1] == ("rollback", first.version)


def test_reproduce_against_the_tracking_server(server_kit: Kit) -> None:

    kit = server_kit
    lake = kit.registry.lake
    lake.append("silver.points", make_frame(600, 0))
    info, metrics = log_tinyml(kit)
    result = kit.registry.reproduce(kit.model, info.version)
    assert result.matches, result.to_dict()
    assert result.reproduced == pytest.approx(metrics, abs=1e-12)
