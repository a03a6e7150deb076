"""The flights template's optional Optuna search (`trials` > 0) on a small synthetic frame."""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
import pytest
from _templates_kit import labelled_frame

from lakestack.templates.flights.flights_ml import training

PARAMS = {"seed": 7, "rounds": 30, "trials": 3}


@pytest.fixture(scope="module")
def train() -> pl.DataFrame:
    """400 training rows, 6 hours apart, the label depending on two features."""
    return labelled_frame(400, origins=False)


def test_the_validation_slice_is_the_end_of_the_training_period(train: pl.DataFrame) -> None:
    fit_rows, valid = training.split_validation(train)
    assert fit_rows.height + valid.height == train.height
    assert valid.height == pytest.approx(train.height * training.VALIDATION_FRACTION, abs=1)
    assert fit_rows["sched_dep_ts"].max() < valid["sched_dep_ts"].min()


def test_the_search_is_seeded_and_beats_a_constant(train: pl.DataFrame) -> None:
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
    train: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    booster, params = training.tune_and_fit(train, {"rounds": 30, "trials": 0})
    assert training.SEARCH_SCORE not in params
    assert booster.model_to_string() == training.fit(train, {"rounds": 30}).model_to_string()


def test_a_missing_optuna_names_the_extra(
    train: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ImportError, match=r"pip install 'lakestack\[tuning\]'"):
        training.tune_and_fit(train, PARAMS)
