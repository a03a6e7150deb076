"""Comparisons with production: outside its training period, and thresholds relative to it."""

from __future__ import annotations

from typing import Any

import pytest
from _registry_kit import FEATURES, T0, Kit, make_frame

from lakestack.registry import TrainingPeriod

PERIOD = TrainingPeriod("ts", T0, "2026-03-02")  # make_frame(600) is 2026-01-01 to 03-16, 3-hourly


def _memorizer(frame: Any) -> Any:
    """A fully grown tree: perfect on the rows it learnt, poor elsewhere."""
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(random_state=0).fit(
        frame.select(FEATURES).to_pandas(), frame["y"].to_numpy()
    )


def test_the_regression_gate_leaves_out_holdout_rows_production_trained_on(kit: Kit) -> None:
    """Production judged on rows it had learnt refused a better candidate (the defect)."""
    holdout_rows = make_frame(600, 1)
    learnt = holdout_rows.filter(holdout_rows["ts"] < PERIOD.end)
    kept = holdout_rows.height - learnt.height
    kit.holdout(frame=holdout_rows)  # the candidate's holdout overlaps production's period
    reg = kit.configure({"regression": {"resamples": 200}})
    unrecorded = kit.log(_memorizer(learnt))  # a version that records no training period
    reg.promote(kit.model, unrecorded.version, to="production")
    candidate = kit.log(kit.train())
    biased = reg.evaluate_gates(kit.model, candidate.version, stage="production").results[0]
    assert not biased.passed and biased.numbers["rows"] == 600

    recorded = kit.log(_memorizer(learnt), training_period=PERIOD)
    assert recorded.training_period == PERIOD
    reg.promote(kit.model, recorded.version, to="production", force=True, reason="test")
    fair = reg.evaluate_gates(kit.model, candidate.version, stage="production").results[0]
    assert fair.passed, fair.message
    assert fair.numbers["rows"] == kept and fair.numbers["holdout_rows"] == 600
    assert fair.numbers["improvement"] > 0
    where = f"production v{recorded.version}'s training period"
    assert f"rescoped to the {kept} of 600 holdout rows outside {where}" in fair.message
    assert "(ts in [2026-01-01 00:00, 2026-03-02 00:00) UTC)" in fair.message

    without_time = reg.evaluate_gates(
        kit.model, candidate.version, stage="production", holdout=holdout_rows.drop("ts")
    ).results[0]
    assert not without_time.passed and "the holdout has no column 'ts'" in without_time.message
    reg = kit.configure({"regression": {"resamples": 200}, "overlap": "refuse"})
    refused = reg.evaluate_gates(kit.model, candidate.version, stage="production").results[0]
    assert not refused.passed
    assert f"{learnt.height} of the 600 holdout rows are inside {where}" in refused.message
    reg = kit.configure({"regression": {"resamples": 200}, "min_rescoped_rows": kept + 1})
    few = reg.evaluate_gates(kit.model, candidate.version, stage="production").results[0]
    assert not few.passed and f"fewer than min_rescoped_rows ({kept + 1})" in few.message


def test_thresholds_relative_to_production(sqlite_kit: Kit) -> None:
    kit = sqlite_kit
    reg = kit.configure(
        {"thresholds": ["roc_auc >= production - 0.02", "log_loss <= production * 1.1"]}
    )
    first = kit.log(kit.train())
    only = reg.evaluate_gates(kit.model, first.version, stage="production")
    assert only.passed
    assert {r.message for r in only.results} == {"no other production version to compare against"}
    reg.promote(kit.model, first.version, to="production")
    similar = kit.log(kit.train(seed=3))
    passed = reg.evaluate_gates(kit.model, similar.version, stage="production")
    assert passed.passed, passed.summary()
    auc = passed.results[0]
    assert auc.numbers["bound"] == pytest.approx(auc.numbers["production"] - 0.02)
    assert "production v1" in auc.message and "- 0.02" in auc.message
    noise = kit.log(kit.train("noise"))
    refused = reg.evaluate_gates(kit.model, noise.version, stage="production")
    assert [r.passed for r in refused.results] == [False, False]
    assert refused.results[1].numbers["bound"] == pytest.approx(
        refused.results[1].numbers["production"] * 1.1
    )
