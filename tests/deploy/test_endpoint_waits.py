"""An endpoint deployed before its model has a version waits: not ready, with a status that
says why, and it starts serving when the alias appears."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from starlette.testclient import TestClient

from _kit import write_project
from _kit.loops import wait_until
from _kit.models import log_fitted
from lakestack.registry import ModelRegistry
from lakestack.serving import endpoint_app


def test_an_endpoint_before_its_model_waits_then_serves_when_the_alias_appears(
    tmp_path: Path, mlflow_db: Path
) -> None:
    from sklearn.linear_model import LogisticRegression

    endpoint = {"model": "churn", "poll_interval_s": 0.2, "log_interval_s": 0.2}
    project = write_project(
        tmp_path / "shop",
        environments=("prod",),
        mlflow_db=mlflow_db,
        models={"churn": {"problem": "binary"}},
        endpoints={"churn": endpoint},
    )
    with TestClient(endpoint_app(project, "churn", "prod")) as client:
        waiting = wait_until(
            lambda: (r := client.get("/ready")).json().get("status") == "waiting" and r,
            "the endpoint says it waits",
        )
        assert waiting.status_code == 503
        why = waiting.json()["error"]
        assert "churn" in why and "production" in why and "prod" in why
        answer = client.post("/invocations", json={"dataframe_records": [{"x1": 1.0}]})
        assert (
            answer.status_code == 503
            and "waiting for a version of churn" in answer.json()["message"]
        )

        rng = np.random.default_rng(0)
        x = pd.DataFrame(rng.normal(size=(200, 2)), columns=["x1", "x2"])
        y = (x["x1"] - x["x2"] > 0).astype(int).to_numpy()
        model = LogisticRegression().fit(x, y)
        registry = ModelRegistry(project, "prod")
        serve_proba = {"pyfunc_predict_fn": "predict_proba"}
        info = log_fitted(registry, model, "churn", x, proba=True, flavor_options=serve_proba)
        registry.promote("churn", info.version, to="production", force=True, reason="first")
        ready = wait_until(
            lambda: (r := client.get("/ready")).status_code == 200 and r,
            "the endpoint serves once the alias appears",
        )
        assert ready.json()["version"] == info.version
        scored = client.post("/invocations", json={"dataframe_records": [{"x1": 1.0, "x2": 0.0}]})
        assert scored.status_code == 200, scored.text
