"""The metric catalog: which metrics fit which problem type, and `validate` refusing misfits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from lakestack.config import PROJECT_FILE, validate_project_file
from lakestack.metric_catalog import (
    ALL_METRICS,
    DEFAULT_METRIC,
    HIGHER_IS_BETTER,
    MODEL_METRICS,
    MONITOR_METRICS,
    PROBLEM_TYPES,
    check_problem,
    infer_problem,
    metric_misfit,
    rule_metric_misfit,
    rule_metrics,
)


def test_every_problem_has_its_own_metrics_and_defaults_that_fit() -> None:
    assert PROBLEM_TYPES == ("binary", "multiclass", "regression")
    assert set(MODEL_METRICS["multiclass"]) == {"accuracy", "f1_macro", "log_loss", "roc_auc_ovr"}
    assert set(MODEL_METRICS["regression"]) == {"rmse", "mae", "r2"}
    for problem in PROBLEM_TYPES:
        assert DEFAULT_METRIC[problem] in MODEL_METRICS[problem]
        assert set(MONITOR_METRICS[problem]) <= set(MODEL_METRICS[problem])
    assert set(ALL_METRICS) >= HIGHER_IS_BETTER
    assert "rmse" not in HIGHER_IS_BETTER and "r2" in HIGHER_IS_BETTER


def test_a_misfit_names_the_metric_the_problem_and_the_metrics_that_fit() -> None:
    assert metric_misfit("rmse", "regression") is None
    assert metric_misfit("roc_auc", "binary") is None
    assert metric_misfit("roc_auc", "regression") == (
        "metric 'roc_auc' does not fit a regression model; its metrics: mae, r2, rmse"
    )
    assert metric_misfit("roc_auc", "multiclass") == (
        "metric 'roc_auc' does not fit a multiclass model; its metrics: accuracy, f1_macro, "
        "log_loss, roc_auc_ovr"
    )
    assert "is not a metric of a binary model" in (metric_misfit("auc", "binary") or "")
    assert metric_misfit("auc") == f"unknown metric 'auc'; known metrics: {', '.join(ALL_METRICS)}"
    with pytest.raises(ValueError, match=r"'classification' \(say which: binary or multiclass\)"):
        check_problem("classification")


def test_rule_metrics_follow_the_table_and_the_problem() -> None:
    assert rule_metrics("quality", "regression") == ("mae", "r2", "rmse", "labeled_rows")
    assert rule_metric_misfit("quality", "rmse", "regression") is None
    assert rule_metric_misfit("quality", "labeled_rows", "binary") is None
    assert "does not fit a binary model" in (rule_metric_misfit("quality", "rmse", "binary") or "")
    assert rule_metric_misfit("quality", "rmse") is None  # problem not known: any problem's
    assert "has no metric 'psi'" in (rule_metric_misfit("quality", "psi") or "")
    assert "unknown table 'drifts'" in (rule_metric_misfit("drifts", "psi") or "")
    assert rule_metric_misfit("drift", "psi", "regression") is None


@pytest.mark.parametrize(
    ("labels", "problem"),
    [
        ([True, False, True], "binary"),
        ([0, 1, 1, 0], "binary"),
        (["late", "on time", "late"], "binary"),
        (np.array([0.5, 1.25, 7.0]), "regression"),
        (pl.Series([151.0, 75.0, 141.0, 206.5]), "regression"),
        (["a", "b", "c", None], "multiclass"),
        ([0, 1, 2, 2], None),  # whole numbers: classes or counts? the model must say
        (np.array([3.0, 3.0]), None),  # one value
        ([], None),
    ],
)
def test_the_label_implies_the_problem_or_says_it_cannot(labels: object, problem: str) -> None:
    assert infer_problem(labels) == problem


def _problems(folder: Path, text: str) -> dict[str, str]:
    (folder / PROJECT_FILE).write_text("project: {name: p}\n" + text)
    _, problems = validate_project_file(folder)
    return {p.key: p.message for p in problems}


def test_validate_refuses_gate_metrics_that_do_not_fit_the_declared_problem(
    tmp_path: Path,
) -> None:
    found = _problems(
        tmp_path,
        """
models:
  price:
    problem: regression
    gates:
      thresholds: ["rmse <= 30", "roc_auc >= 0.7"]
      regression: {metric: accuracy}
      slices: {columns: [region], metric: mae}
  wine:
    problem: multiclass
    gates: {regression: {metric: f1}}
  undeclared:
    gates: {thresholds: ["rmse <= 3", "roc_auc >= 0.7"]}
""",
    )
    assert found == {
        "models.price.gates.thresholds[1]": (
            "metric 'roc_auc' does not fit a regression model; its metrics: mae, r2, rmse"
        ),
        "models.price.gates.regression.metric": (
            "metric 'accuracy' does not fit a regression model; its metrics: mae, r2, rmse"
        ),
        "models.wine.gates.regression.metric": (
            "metric 'f1' does not fit a multiclass model; its metrics: accuracy, f1_macro, "
            "log_loss, roc_auc_ovr"
        ),
    }


def test_validate_names_unknown_metrics_and_problem_types(tmp_path: Path) -> None:
    found = _problems(
        tmp_path,
        """
models:
  a: {problem: classification, gates: {thresholds: ["auc >= 0.7"]}}
  b: {gates: {regression: {metric: rmsle}}}
""",
    )
    assert "say which: binary or multiclass" in found["models.a.problem"]
    assert found["models.a.gates.thresholds.rules[0].metric"].startswith(
        "unknown metric 'auc'; known metrics:"
    )
    assert found["models.b.gates.regression.metric"].startswith("unknown metric 'rmsle'")


def test_validate_refuses_monitor_metrics_and_rules_that_do_not_fit_the_model(
    tmp_path: Path,
) -> None:
    found = _problems(
        tmp_path,
        """
models:
  price: {problem: regression}
monitors:
  prices:
    table: inference.price
    model: price
    metrics: [rmse, accuracy]
    alerts:
      - {name: slow, when: "quality.rmse > 30 in the latest window"}
      - {name: wrong, when: "quality.roc_auc < 0.7 in the latest window"}
      - {name: few, when: "quality.labeled_rows < 10"}
      - {name: typo, when: "drift.psy > 0.2"}
""",
    )
    assert found == {
        "monitors.prices.metrics[1]": (
            "metric 'accuracy' does not fit a regression model; its metrics: mae, r2, rmse "
            "(model 'price')"
        ),
        "monitors.prices.alerts[1].when": (
            "metric 'roc_auc' does not fit a regression model; its metrics: mae, r2, rmse "
            "(model 'price')"
        ),
        "monitors.prices.alerts[3].when": (
            "drift has no metric 'psy'; its metrics: psi, jensen_shannon, statistic, p_value, "
            "ks_statistic, ks_p_value"
        ),
    }
