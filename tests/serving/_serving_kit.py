"""Helpers of the serving tests: a project with a SQLite registry and tiny models (the
fixtures are in conftest.py; `server_factory` and `mlflow_db` in tests/conftest.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from _kit import write_project
from _kit.models import log_fitted
from lakestack.config import Project
from lakestack.registry import Lineage, ModelRegistry
from lakestack.serving import MLFLOW_TYPES, Column, InputSchema, ServerProcess

if TYPE_CHECKING:
    from starlette.testclient import TestClient

FEATURES = ["x1", "x2", "x3"]
EVERY_TYPE = {
    "flag": "boolean",
    "count": "integer",
    "big": "long",
    "ratio": "float",
    "amount": "double",
    "name": "string",
    "blob": "binary",
    "when": "datetime",
}
"""A column of each MLflow type a signature can name."""


def frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return pd.DataFrame(x, columns=FEATURES)


def labels(x: pd.DataFrame, seed: int = 0) -> Any:
    rng = np.random.default_rng(seed)
    logit = 2 * x["x1"] - x["x2"] + 0.5 * x["x3"]
    return (rng.random(len(x)) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()


def _write(
    root: Path,
    mlflow_db: Path,
    endpoints: dict[str, Any] | None = None,
    jobs: dict[str, Any] | None = None,
) -> Project:
    return write_project(
        root,
        name="servetest",
        environments=("dev", "prod"),
        mlflow_db=mlflow_db,
        endpoints=endpoints or {},
        jobs=jobs,
    )


class Served:
    """A project, its prod registry, and helpers to log models and run endpoints."""

    def __init__(self, root: Path, mlflow_db: Path) -> None:
        self.root = root
        self.mlflow_db = mlflow_db
        self.project = _write(root, mlflow_db)
        self.registry = ModelRegistry(self.project, "prod")

    def configure(self, *, jobs: dict[str, Any] | None = None, **endpoint: Any) -> Project:
        """Write the project again with the endpoint `tiny` (these settings) and `jobs`."""
        endpoint.setdefault("model", "tiny")
        endpoint.setdefault("log_interval_s", 0.2)
        self.project = _write(self.root, self.mlflow_db, {"tiny": endpoint}, jobs)
        self.registry = ModelRegistry(self.project, "prod")
        return self.project

    def entity_features(self) -> tuple[pd.DataFrame, Any]:
        """The feature table `features.ent` (x2, x3 by `eid` 1 to 3), published online, and a
        training set of 90 labels (`eid`, x1) looking it up: its FEATURES and its spec."""
        from lakestack.features import FeatureLookup, FeatureStore

        with FeatureStore(self.project, "prod") as store:
            entities = {"eid": [1, 2, 3], "x2": [0.5, -1.0, 2.0], "x3": [1.0, 0.0, -2.0]}
            store.create_feature_table("features.ent", data=entities, primary_keys=["eid"])
            store.publish("features.ent")
            rng = np.random.default_rng(0)
            labels = {"eid": rng.choice([1, 2, 3], 90).tolist(), "x1": rng.normal(size=90).tolist()}
            lookup = FeatureLookup("features.ent", lookup_key="eid")
            training = store.build_training_set(labels, [lookup])
            return training.to_polars().to_pandas()[FEATURES], training.spec

    def log_with_features(self, model: Any, x: Any, spec: Any, to: str = "production") -> int:
        """Log `model` (trained on `x`) with a feature spec, as `to`; its version."""
        info = log_fitted(
            self.registry, model, "tiny", x, example=False, lineage=Lineage(feature_spec=spec)
        )
        self.registry.promote("tiny", info.version, to=to, force=True, reason="test")
        return info.version

    def log_sklearn(self, seed: int = 0, *, promote: str | None = "production", **kw: Any) -> int:
        from sklearn.linear_model import LogisticRegression

        x = frame(200, seed)
        model = LogisticRegression().fit(x, labels(x, seed))
        serve_proba = {"pyfunc_predict_fn": "predict_proba"}
        info = log_fitted(
            self.registry, model, "tiny", x, proba=True, flavor_options=serve_proba, **kw
        )
        if promote:
            self.registry.promote("tiny", info.version, to=promote, force=True, reason="test")
        return info.version

    def log_typed(
        self,
        types: dict[str, str],
        *,
        optional: frozenset[str] = frozenset(),
        name: str = "tiny",
        promote: str | None = "production",
    ) -> int:
        """Log `typed_model()` with input columns of these MLflow types; its version."""
        info = self.registry.log_model(
            typed_model(),
            name,
            signature=typed_signature(types, optional),
            flavor="pyfunc",
            problem="regression",  # it answers a count
        )
        if promote:
            self.registry.promote(name, info.version, to=promote, force=True, reason="test")
        return info.version


def typed_model() -> Any:
    """An MLflow `PythonModel` that takes any columns and answers, per row, how many of its
    values are not null (a float): a model of any input types, defined here so that
    cloudpickle stores it by value and a server process loads it without this module."""
    import mlflow.pyfunc

    class CountValues(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            # no type hints: MLflow would read them as an input schema
            return [float(model_input.iloc[i].notna().sum()) for i in range(len(model_input))]

    return CountValues()


def typed_signature(types: dict[str, str], optional: frozenset[str] = frozenset()) -> Any:
    """An MLflow signature of named columns of MLflow types (`boolean`, `long`, ...)."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    inputs = [ColSpec(t, name, required=name not in optional) for name, t in types.items()]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema([ColSpec("double")]))


LOG_SCHEMA = InputSchema((Column("a", MLFLOW_TYPES["double"]), Column("b", MLFLOW_TYPES["long"])))
"""The input columns of `log_record`'s records."""


def log_record(i: int) -> dict[str, Any]:
    """The inference record of request `r<i>` (four digits): one row of `LOG_SCHEMA`."""
    return {
        "id": f"r{i:04d}",
        "ts": time.time_ns() // 1000,
        "model": "m",
        "version": 1,
        "variant": "production",
        "status": 200,
        "latency_ms": 1.5,
        "error": None,
        "columns": ["a", "b"],
        "rows": [[float(i), i]],
        "outputs": [[0.25, 0.75]],
    }


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
