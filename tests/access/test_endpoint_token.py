"""An endpoint with `auth: token`: a real `lakestack serve`, requests with and without a valid
token, and the inference table holding the accepted requests only."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from _kit.access import write_access_project
from _kit.models import log_fitted
from lakestack.access import acting_as, create_token, grant_role, revoke_role
from lakestack.lake import Lake
from lakestack.registry import ModelRegistry
from lakestack.serving import ServerProcess


def _log_and_promote(project: object) -> None:
    from sklearn.linear_model import LogisticRegression

    x = pd.DataFrame(np.random.default_rng(0).normal(size=(120, 3)), columns=["x1", "x2", "x3"])
    model = LogisticRegression().fit(x, (x["x1"] > 0).astype(int))
    registry = ModelRegistry(project, "prod")  # type: ignore[arg-type]
    serve_proba = {"pyfunc_predict_fn": "predict_proba"}
    info = log_fitted(registry, model, "tiny", x, proba=True, flavor_options=serve_proba)
    registry.promote("tiny", info.version, to="production", force=True, reason="test")


def test_an_endpoint_with_token_auth_refuses_and_logs_nothing_without_a_valid_token(
    tmp_path: Path, mlflow_db: Path, child_bytecode_cache: None
) -> None:
    endpoint = {"model": "tiny", "auth": "token", "log_interval_s": 0.2}
    project = write_access_project(
        tmp_path / "aproj", mlflow_db=mlflow_db, endpoints={"tiny": endpoint}
    )
    with acting_as("dep1"):
        _log_and_promote(project)
    with acting_as("alice"):
        reader = create_token(project, "dev1", ["prod"]).token
        revoked = create_token(project, "ci", ["prod"])
        from lakestack.access import revoke_token

        revoke_token(project, revoked.records[0].token_id, "prod")
        grant_role(project, "eve", "reader", "prod")
        eve = create_token(project, "eve", ["prod"]).token
        revoke_role(project, "eve", "prod")  # her token still works, her role is gone

    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKESTACK_")}
    env["LAKESTACK_PRINCIPAL"] = "dep1"  # the prod service that runs the endpoint
    server = ServerProcess.lakestack_serve(
        project.root, "tiny", "prod", args=("--log-level", "warning"), env=env
    ).start()
    body = {"dataframe_records": [{"x1": 0.5, "x2": -1.0, "x3": 2.0}]}
    url = server.url + "/invocations"
    try:
        refused = {
            "none": httpx.post(url, json=body),
            "malformed": httpx.post(url, json=body, headers={"Authorization": "Bearer nope"}),
            "revoked": httpx.post(url, json=body, headers=_bearer(revoked.token)),
            "no role": httpx.post(url, json=body, headers=_bearer(eve)),
        }
        accepted = [httpx.post(url, json=body, headers=_bearer(reader)) for _ in range(2)]
        metrics_open = httpx.get(server.url + "/metrics")
        metrics_with = httpx.get(server.url + "/metrics", headers=_bearer(reader))
        health = httpx.get(server.url + "/health")
    finally:
        assert server.stop()  # the inference log is flushed
    statuses = {why: r.status_code for why, r in refused.items()}
    assert statuses == {"none": 401, "malformed": 401, "revoked": 401, "no role": 403}
    assert "revoked" in refused["revoked"].json()["detail"]
    assert "eve may not call endpoints" in refused["no role"].json()["detail"]
    assert refused["none"].headers["www-authenticate"] == "Bearer"
    assert [r.status_code for r in accepted] == [200, 200]
    assert (metrics_open.status_code, metrics_with.status_code, health.status_code) == (
        401,
        200,
        200,
    )
    logged = Lake.for_environment(project, "prod").read("inference.tiny").to_pylist()
    assert sorted(row["request_id"] for row in logged) == sorted(
        r.headers["x-request-id"] for r in accepted
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(autouse=True)
def _no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAKESTACK_TOKEN", raising=False)
