"""Tiny data, tiny models and a project with real registries, shared by the registry tests."""

from __future__ import annotations

import dataclasses
import importlib
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from _kit import write_project
from lakestack.config import Project
from lakestack.registry import Holdout, Lineage, ModelRegistry, ModelVersionInfo

LINEAGE_FIELDS = {f.name for f in dataclasses.fields(Lineage)}

FEATURES = ["x1", "x2", "o"]
ORIGINS = ["EWR", "JFK", "LGA"]


T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_frame(n: int = 600, seed: int = 0) -> pl.DataFrame:
    """Two informative features, an origin (slice column) and a binary label `y`."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    origin = rng.choice(ORIGINS, n)
    logit = 2.0 * x1 - 1.5 * x2
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    o = np.array([ORIGINS.index(v) for v in origin], dtype=np.float64)
    ts = [T0 + timedelta(hours=3 * i) for i in range(n)]  # n = 600: 75 days from T0
    return pl.DataFrame({"x1": x1, "x2": x2, "o": o, "origin": origin, "y": y, "ts": ts})


def regression_frame(n: int = 600, seed: int = 0) -> pl.DataFrame:
    """The features of `make_frame` and a continuous label `y` (a price, say)."""
    frame = make_frame(n, seed)
    noise = np.random.default_rng(seed + 100).normal(0, 1, n)
    return frame.with_columns(y=100 + 20 * frame["x1"] - 10 * frame["x2"] + noise)


def multiclass_frame(n: int = 600, seed: int = 0) -> pl.DataFrame:
    """The features of `make_frame` and a label `y` of three classes."""
    frame = make_frame(n, seed)
    noise = np.random.default_rng(seed + 200).normal(0, 0.5, n)
    score = frame["x1"].to_numpy() + noise
    return frame.with_columns(y=pl.Series(np.digitize(score, [-0.5, 0.5]), dtype=pl.Int64))


class Kit:
    """A project with dev (the backend under test) and prod (SQLite) registries, and helpers."""

    def __init__(self, root: Path, dev_tracking: str, mlflow_db: Path) -> None:
        self.root = root
        self.model = f"m_{uuid.uuid4().hex[:8]}"
        self.dev_tracking = dev_tracking
        self.mlflow_db = mlflow_db
        self.configure()

    def configure(
        self, gates: dict[str, Any] | None = None, label: str = "y", **model: Any
    ) -> ModelRegistry:
        """Write lakestack.yaml with these gates (and `problem=`...) for the kit's model; the
        dev registry."""
        dev = {} if self.dev_tracking == "sqlite" else {"tracking": self.dev_tracking}
        self.project: Project = write_project(
            self.root,
            name="regtest",
            environments={"dev": dev, "prod": {}},
            mlflow_db=self.mlflow_db,
            models={self.model: {"label": label, "gates": gates or {}, **model}},
        )
        self.registry = ModelRegistry(self.project, "dev")
        return self.registry

    def holdout(self, seed: int = 1, frame: pl.DataFrame | None = None) -> Holdout:
        """Write a holdout table (`make_frame` unless `frame` is given; first call only) and
        return its reference."""
        lake = self.registry.lake
        if not lake.exists("gold.holdout"):
            lake.append("gold.holdout", make_frame(600, seed) if frame is None else frame)
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
        """Log a scikit-learn classifier with its probabilities' signature, an example and the
        holdout; `Lineage` fields (training_tables=, metrics=, ...) go into its lineage."""
        from mlflow.models import infer_signature

        x = make_frame(50, 7).select(FEATURES).to_pandas()
        fields = {k: kwargs.pop(k) for k in list(kwargs) if k in LINEAGE_FIELDS}
        fields.setdefault("holdout", self.holdout())
        kwargs.setdefault("signature", infer_signature(x, model.predict_proba(x)))
        return self.registry.log_model(
            model, self.model, input_example=x.head(3), lineage=Lineage(**fields), **kwargs
        )


def log_tinyml(kit: Kit) -> tuple[ModelVersionInfo, dict[str, float]]:
    """Train the kit repository's `tinyml.train` on `silver.points` version 0 and log it with
    its lineage (reproducible through `tinyml.train:reproduce`); the version and its metrics."""
    from mlflow.models import infer_signature

    lake = kit.registry.lake
    sys.path.insert(0, str(kit.root))
    try:
        train = importlib.import_module("tinyml.train")
        model, metrics = train.fit(lake.read_polars("silver.points", version=0), C=0.5)
    finally:
        sys.path.remove(str(kit.root))
        sys.modules.pop("tinyml.train", None)
        sys.modules.pop("tinyml", None)
    x = make_frame(20, 1).select(train.FEATURES).to_numpy()
    info = kit.registry.log_model(
        model,
        kit.model,
        signature=infer_signature(x, model.predict_proba(x)),
        lineage=Lineage(
            training_tables={"silver.points": 0},
            params={"C": 0.5},
            metrics=metrics,
            entry_point="tinyml.train:reproduce",
        ),
    )
    return info, metrics
