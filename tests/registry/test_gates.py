"""Each gate passing and failing; a failed gate leaves every alias unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _registry_kit import Kit, make_frame

from lakestack.config import ModelConfig
from lakestack.errors import GateFailedError
from lakestack.registry import (
    bootstrap_difference,
    check_output,
    metric,
)


def _aliases(kit: Kit) -> dict[str, int]:
    return next(m.aliases for m in kit.registry.models() if m.name == kit.model)


def test_thresholds_pass_and_fail_and_a_failure_moves_no_alias(kit: Kit) -> None:
    reg = kit.configure({"thresholds": ["roc_auc >= 0.7", "log_loss <= 0.6"]})
    good = kit.log(kit.train())
    reg.promote(kit.model, good.version, to="staging")
    reg.promote(kit.model, good.version, to="production")
    noise = kit.log(kit.train("noise"))
    with pytest.raises(GateFailedError) as caught:
        reg.promote(kit.model, noise.version, to="staging")
    message = str(caught.value)
    assert "threshold roc_auc >= 0.7: roc_auc = 0." in message
    assert "stays at 1" in message
    assert _aliases(kit) == {"staging": 1, "production": 1}

    refused = reg.promote(kit.model, noise.version, to="staging", raise_on_failure=False)
    assert not refused.applied and not refused.report.passed
    failed = {r.name for r in refused.report.failures}
    assert "threshold roc_auc >= 0.7" in failed
    assert _aliases(kit) == {"staging": 1, "production": 1}
    outcomes = [(t.action, t.outcome, t.to_version) for t in reg.history(kit.model)]
    assert outcomes[-2:] == [("promote", "refused", 2), ("promote", "refused", 2)]
    tags = reg.version(kit.model, noise.version).tags
    assert tags["lakestack.gates.staging"] == "failed"


def test_regression_is_judged_with_a_bootstrap_interval(kit: Kit) -> None:
    reg = kit.configure({"regression": {"metric": "roc_auc", "margin": 0.02, "resamples": 200}})
    first = kit.log(kit.train())
    only = reg.evaluate_gates(kit.model, first.version, stage="production")
    assert only.passed and "no other production version" in only.results[0].message
    reg.promote(kit.model, first.version, to="production")

    similar = kit.log(kit.train(seed=3))  # same quality, other sample: within noise
    report = reg.evaluate_gates(kit.model, similar.version, stage="production")
    result = report.results[0]
    assert result.passed, result.message
    assert result.numbers["ci_low"] < result.numbers["improvement"] < result.numbers["ci_high"]
    assert result.numbers["production_version"] == first.version

    worse = kit.log(kit.train("noise"))
    refused = reg.promote(kit.model, worse.version, to="production", raise_on_failure=False)
    result = refused.report.results[0]
    assert not result.passed and result.numbers["ci_high"] < -0.02
    assert "entirely below -0.02" in result.message
    assert reg.alias_holder(kit.model, "production").version == first.version  # type: ignore[union-attr]
    again = reg.evaluate_gates(kit.model, worse.version, stage="production")
    assert again.results[0].numbers == result.numbers  # seeded: the same interval


def _slice_model(invert: str | None) -> object:
    """LightGBM on (x1, x2, o); with `invert`, trained on labels flipped for that origin."""
    import lightgbm as lgb

    frame = make_frame(1500, 0)
    y = frame["y"].to_numpy().copy()
    if invert is not None:
        mask = frame["origin"].to_numpy() == invert
        y[mask] = 1 - y[mask]
    model = lgb.LGBMClassifier(n_estimators=30, random_state=0, deterministic=True, verbose=-1)
    return model.fit(frame.select(["x1", "x2", "o"]).to_pandas(), y)


def test_slices_fail_when_one_origin_regresses(kit: Kit) -> None:
    reg = kit.configure({"slices": {"columns": ["origin"], "min_support": 50, "tolerance": 0.05}})
    base = kit.log(_slice_model(None))
    reg.promote(kit.model, base.version, to="production")
    same = kit.log(_slice_model(None))
    passed = reg.evaluate_gates(kit.model, same.version, stage="production").results[0]
    assert passed.passed and passed.numbers["slices"] == 3
    assert "none failing against production" in passed.message

    bad = kit.log(_slice_model("JFK"))
    refused = reg.promote(kit.model, bad.version, to="production", raise_on_failure=False)
    result = refused.report.results[0]
    assert not result.passed
    assert [d["value"] for d in result.details if not d["passed"]] == ["JFK"]
    assert "origin=JFK" in result.message
    assert reg.alias_holder(kit.model, "production").version == base.version  # type: ignore[union-attr]


def test_infrastructure_loads_in_a_fresh_process_and_checks_the_cpu_time(kit: Kit) -> None:
    reg = kit.configure({"infrastructure": {"cpu_ms": 2000, "requests": 5}})
    info = kit.log(kit.train())
    # One fresh process judged against two budgets: generous passes, tiny fails.
    report = reg.evaluate_gates(kit.model, info.version, stage="production")
    result = report.results[0]
    assert result.passed, result.message
    assert result.numbers["rows"] == 3 and result.numbers["cpu_p95_ms"] > 0
    assert result.numbers["wall_p95_ms"] >= result.numbers["wall_p50_ms"] > 0
    assert "output matches the signature" in result.message
    # timed after a warm-up, with every thread pool of the process (BLAS, OpenMP) pinned to
    # one thread: unpinned, they took every core and fought other processes for them
    assert result.numbers["warmup"] == 5 and result.numbers["requests"] == 5
    assert "after 5 warm-up request(s), 1 thread(s)" in result.message
    pools = result.numbers["thread_pools"]
    assert pools and {p["threads"] for p in pools} == {1}, pools

    reg = kit.configure({"infrastructure": {"cpu_ms": 0.0001, "requests": 5}})
    refused = reg.promote(kit.model, info.version, to="production", raise_on_failure=False)
    assert not refused.report.results[0].passed
    assert "over the 0.0001 ms CPU budget" in refused.report.results[0].message
    assert reg.alias_holder(kit.model, "production") is None


def test_check_output_names_what_differs_from_the_signature() -> None:
    from mlflow.models import infer_signature

    x = pd.DataFrame({"a": [1.0, 2.0]})
    proba = np.array([[0.2, 0.8], [0.4, 0.6]])
    outputs = infer_signature(x, proba).outputs
    assert check_output(proba, outputs, 2) is None
    assert "shape (2,)" in (check_output(proba[:, 1], outputs, 2) or "")
    assert "returned shape (1, 2)" in (check_output(proba[:1], outputs, 2) or "")
    columns = infer_signature(x, pd.Series([0.5, 0.1], name="p")).outputs
    assert check_output(np.array([0.3, 0.2]), columns, 2) is None
    assert "object" in (check_output(np.array(["a", "b"]), columns, 2) or "")
    assert "declares no outputs" in (check_output(proba, None, 2) or "")


def test_metrics_match_scikit_learn_and_the_bootstrap_is_seeded() -> None:
    from sklearn.metrics import log_loss, roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.clip(y * 0.3 + rng.random(300) * 0.7, 0.01, 0.99)
    assert metric("roc_auc", y, s) == pytest.approx(roc_auc_score(y, s))
    assert metric("log_loss", y, s) == pytest.approx(log_loss(y, s))
    other = rng.random(300)
    one = bootstrap_difference("roc_auc", y, s, other, resamples=100, seed=5)
    assert one == bootstrap_difference("roc_auc", y, s, other, resamples=100, seed=5)
    assert one.low < one.improvement < one.high and one.improvement > 0


def test_gate_config_is_typed_and_says_what_is_wrong() -> None:
    from pydantic import ValidationError

    config = ModelConfig.model_validate(
        {"gates": {"thresholds": ["roc_auc >= 0.70", "log_loss <= 0.5"]}}
    )
    assert [str(r) for r in config.gates.thresholds.rules] == ["roc_auc >= 0.7", "log_loss <= 0.5"]  # type: ignore[union-attr]
    for bad, words in [
        ({"thresholds": ["roc_auc => 0.7"]}, "metric op number"),
        ({"thresholds": ["auc >= 0.7"]}, "unknown metric 'auc'"),
        ({"regresion": {}}, "Extra inputs"),
        ({"slices": {"columns": []}}, "at least 1"),
    ]:
        with pytest.raises(ValidationError, match=words):
            ModelConfig.model_validate({"gates": bad})
