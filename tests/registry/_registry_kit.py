"""Tiny data, tiny models and a project with real registries, shared by the registry tests."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from _kit import write_project
from lakestack.config import Project
from lakestack.registry import Holdout, ModelRegistry, ModelVersionInfo

FEATURES = ["x1", "x2", "o"]
ORIGINS = ["EWR", "JFK", "LGA"]


def make_frame(n: int = 600, seed: int = 0) -> pl.DataFrame:
    """Two informative features, an origin (slice column) and a binary label `y`."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    origin = rng.choice(ORIGINS, n)
    logit = 2.0 * x1 - 1.5 * x2
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    o = np.array([ORIGINS.index(v) for v in origin], dtype=np.float64)
    return pl.DataFrame({"x1": x1, "x2": x2, "o": o, "origin": origin, "y": y})


class Kit:
    """A project with dev (the backend under test) and prod (SQLite) registries, and helpers."""

    def __init__(self, root: Path, dev_tracking: str, mlflow_db: Path) -> None:
        self.root = root
        self.model = f"m_{uuid.uuid4().hex[:8]}"
        self.dev_tracking = dev_tracking
        self.mlflow_db = mlflow_db
        self.configure()

    def configure(self, gates: dict[str, Any] | None = None, label: str = "y") -> ModelRegistry:
        """Write lakestack.yaml with these gates for the kit's model; the dev registry."""
        dev = {} if self.dev_tracking == "sqlite" else {"tracking": self.dev_tracking}
        self.project: Project = write_project(
            self.root,
            name="regtest",
            environments={"dev": dev, "prod": {}},
            mlflow_db=self.mlflow_db,
            models={self.model: {"label": label, "gates": gates or {}}},
        )
        self.registry = ModelRegistry(self.project, "dev")
        return self.registry

    def holdout(self, seed: int = 1) -> Holdout:
        """Write a holdout table (first call) and return its reference."""
        lake = self.registry.lake
        if not lake.exists("gold.holdout"):
            lake.append("gold.holdout", make_frame(600, seed))
        return Holdout("gold.holdout", lake.version("gold.holdout"), "y")

    def train(self, kind: str = "good", seed: int = 0) -> Any:
        """A logistic regression: `good`, or `noise` (trained on shuffled labels)."""
        from sklearn.linear_model import LogisticRegression

        frame = make_frame(600, seed)
        y = frame["y"].to_numpy()
        if kind == "noise":
            y = np.random.default_rng(seed).permutation(y)
        return LogisticRegression().fit(frame.select(FEATURES).to_pandas(), y)

    def log(self, model: Any, **kwargs: Any) -> ModelVersionInfo:
        """Log a scikit-learn classifier with a signature, example and holdout."""
        from mlflow.models import infer_signature

        x = make_frame(50, 7).select(FEATURES).to_pandas()
        kwargs.setdefault("holdout", self.holdout())
        kwargs.setdefault("signature", infer_signature(x, model.predict_proba(x)))
        kwargs.setdefault("flavor_options", {"pyfunc_predict_fn": "predict_proba"})
        return self.registry.log_model(model, self.model, input_example=x.head(3), **kwargs)
