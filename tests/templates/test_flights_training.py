"""The flights template's training functions on a small synthetic frame (the demo runs the job)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import numpy as np
import polars as pl
import pytest

import lakestack.templates


@pytest.fixture(scope="module")
def training() -> Iterator[ModuleType]:
    """The template's `flights_ml.training`, imported as the runner imports a project's code."""
    folder = str(Path(lakestack.templates.__file__).parent / "flights")
    sys.path.insert(0, folder)
    try:
        yield importlib.import_module("flights_ml.training")
    finally:
        sys.path.remove(folder)
        for name in [m for m in sys.modules if m == "flights_ml" or m.startswith("flights_ml.")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def frame(training: ModuleType) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    n = 1200
    start = datetime(2013, 1, 1, tzinfo=UTC)
    data = {name: rng.normal(size=n) for name in training.FEATURES}
    logit = 1.5 * data["carrier_7d_late_share"] + data["temp"]
    return pl.DataFrame(
        {
            **data,
            "sched_dep_ts": [start + timedelta(hours=6 * i) for i in range(n)],
            "origin": rng.choice(["EWR", "JFK", "LGA"], n),
            training.LABEL: rng.random(n) < 1 / (1 + np.exp(-logit)),
        }
    )


def test_the_split_is_by_time(training: ModuleType, frame: pl.DataFrame) -> None:
    split = training.split_by_time(frame, "2013-02-01", "2013-06-01", "2013-07-01")
    train = split.filter(pl.col("split") == "train")["sched_dep_ts"]
    holdout = split.filter(pl.col("split") == "holdout")["sched_dep_ts"]
    assert train.min() >= datetime(2013, 2, 1, tzinfo=UTC)
    assert train.max() < datetime(2013, 6, 1, tzinfo=UTC) <= holdout.min()
    assert holdout.max() < datetime(2013, 7, 1, tzinfo=UTC)


def test_training_is_seeded_and_deterministic(training: ModuleType, frame: pl.DataFrame) -> None:
    split = training.split_by_time(frame, "2013-01-01", "2013-08-01", "2013-12-01")
    train, holdout = (split.filter(pl.col("split") == s) for s in ("train", "holdout"))
    params = {"rounds": 30, "seed": 3}
    first = training.score(training.fit(train, params), holdout)
    assert first == training.score(training.fit(train, params), holdout)
    assert set(first) == {"roc_auc", "log_loss", "brier", "accuracy"}
    assert first["roc_auc"] > 0.6
