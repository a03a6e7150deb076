"""The flights template's training functions on a small synthetic frame (the demo runs the job)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from _templates_kit import labelled_frame

from lakestack.templates.flights.flights_ml import training


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return labelled_frame(1200)


def test_the_split_is_by_time(frame: pl.DataFrame) -> None:
    split = training.split_by_time(frame, "2013-02-01", "2013-06-01", "2013-07-01")
    train = split.filter(pl.col("split") == "train")["sched_dep_ts"]
    holdout = split.filter(pl.col("split") == "holdout")["sched_dep_ts"]
    assert train.min() >= datetime(2013, 2, 1, tzinfo=UTC)
    assert train.max() < datetime(2013, 6, 1, tzinfo=UTC) <= holdout.min()
    assert holdout.max() < datetime(2013, 7, 1, tzinfo=UTC)


def test_training_is_seeded_and_deterministic(frame: pl.DataFrame) -> None:
    split = training.split_by_time(frame, "2013-01-01", "2013-08-01", "2013-12-01")
    train, holdout = (split.filter(pl.col("split") == s) for s in ("train", "holdout"))
    params = {"rounds": 30, "seed": 3}
    first = training.score(training.fit(train, params), holdout)
    assert first == training.score(training.fit(train, params), holdout)
    assert set(first) == {"roc_auc", "log_loss", "brier", "accuracy"}
    assert first["roc_auc"] > 0.6
