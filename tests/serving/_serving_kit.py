"""Helpers of the serving tests: a project with a SQLite registry and tiny models (the
fixtures are in conftest.py; `server_factory` and `mlflow_db` in tests/conftest.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from _kit import write_project
from lakestack.config import Project
from lakestack.registry import ModelRegistry
from lakestack.serving import ServerProcess

if TYPE_CHECKING:
    from starlette.testclient import TestClient

FEATURES = ["x1", "x2", "x3"]


def frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return pd.DataFrame(x, columns=FEATURES)


def labels(x: pd.DataFrame, seed: int = 0) -> Any:
    rng = np.random.default_rng(seed)
    logit = 2 * x["x1"] - x["x2"] + 0.5 * x["x3"]
    return (rng.random(len(x)) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()


def _write(root: Path, mlflow_db: Path, endpoints: dict[str, Any] | None = None) -> Project:
    return write_project(
        root,
        name="servetest",
        environments=("dev", "prod"),
        mlflow_db=mlflow_db,
        endpoints=endpoints or {},
    )


class Served:
    """A project, its prod registry, and helpers to log models and run endpoints."""

    def __init__(self, root: Path, mlflow_db: Path) -> None:
        self.root = root
        self.mlflow_db = mlflow_db
        self.project = _write(root, mlflow_db)
        self.registry = ModelRegistry(self.project, "prod")

    def configure(self, **endpoint: Any) -> Project:
        endpoint.setdefault("model", "tiny")
        endpoint.setdefault("log_interval_s", 0.2)
        self.project = _write(self.root, self.mlflow_db, {"tiny": endpoint})
        self.registry = ModelRegistry(self.project, "prod")
        return self.project

    def log_sklearn(self, seed: int = 0, *, promote: str | None = "production", **kw: Any) -> int:
        from mlflow.models import infer_signature
        from sklearn.linear_model import LogisticRegression

        x = frame(200, seed)
        model = LogisticRegression().fit(x, labels(x, seed))
        info = self.registry.log_model(
            model,
            "tiny",
            signature=infer_signature(x, model.predict_proba(x)),
            input_example=x.head(3),
            flavor_options={"pyfunc_predict_fn": "predict_proba"},
            **kw,
        )
        if promote:
            self.registry.promote("tiny", info.version, to=promote, force=True, reason="test")
        return info.version


def stopped_gracefully(server: ServerProcess) -> bool:
    """SIGTERM, and whether uvicorn finished its shutdown (the inference log flushed)."""
    return server.stop() and "Application shutdown complete" in server.log_text()


def wait_ready(client: TestClient, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/ready").status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError(client.get("/ready").json())
