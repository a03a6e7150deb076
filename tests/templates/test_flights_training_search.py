"""The flights template's optional Optuna search (`trials` > 0) on a small synthetic frame."""

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

PARAMS = {"seed": 7, "rounds": 30, "trials": 3}


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
def train(training: ModuleType) -> pl.DataFrame:
    """400 training rows, 6 hours apart, the label depending on two features."""
    rng = np.random.default_rng(0)
    n = 400
    start = datetime(2013, 1, 1, tzinfo=UTC)
    data = {name: rng.normal(size=n) for name in training.FEATURES}
    logit = 1.5 * data["carrier_7d_late_share"] + data["temp"]
    return pl.DataFrame(
        {
            **data,
            "sched_dep_ts": [start + timedelta(hours=6 * i) for i in range(n)],
            training.LABEL: rng.random(n) < 1 / (1 + np.exp(-logit)),
        }
    )


def test_the_validation_slice_is_the_end_of_the_training_period(
    training: ModuleType, train: pl.DataFrame
) -> None:
    fit_rows, valid = training.split_validation(train)
    assert fit_rows.height + valid.height == train.height
    assert valid.height == pytest.approx(train.height * training.VALIDATION_FRACTION, abs=1)
    assert fit_rows["sched_dep_ts"].max() < valid["sched_dep_ts"].min()


def test_the_search_is_seeded_and_beats_a_constant(
    training: ModuleType, train: pl.DataFrame
) -> None:
    booster, params = training.tune_and_fit(train, PARAMS)
    best, value = training.search(train, PARAMS)  # a second study: the same best trial
    assert params == {**training.TRAIN_DEFAULTS, **PARAMS, **best, training.SEARCH_SCORE: value}
    assert set(best) == {
        "num_leaves",
        "learning_rate",
        "min_child_samples",
        "feature_fraction",
        "lambda_l2",
    }
    # The recorded parameters retrain the same model without searching (what `reproduce` does).
    refit = training.fit(train, params)
    assert refit.model_to_string() == booster.model_to_string()
    # A constant prediction (the base rate) scores AUC 0.5 and the label's entropy as log loss.
    valid = training.split_validation(train)[1]
    rate = valid[training.LABEL].mean()
    entropy = -(rate * np.log(rate) + (1 - rate) * np.log(1 - rate))
    metrics = training.score(booster, valid)
    assert value >= 0.5
    assert metrics["roc_auc"] >= 0.5
    assert metrics["log_loss"] <= entropy


def test_no_search_without_trials_and_optuna_is_not_needed(
    training: ModuleType, train: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    booster, params = training.tune_and_fit(train, {"rounds": 30, "trials": 0})
    assert training.SEARCH_SCORE not in params
    assert booster.model_to_string() == training.fit(train, {"rounds": 30}).model_to_string()


def test_a_missing_optuna_names_the_extra(
    training: ModuleType, train: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ImportError, match=r"pip install 'lakestack\[tuning\]'"):
        training.tune_and_fit(train, PARAMS)
