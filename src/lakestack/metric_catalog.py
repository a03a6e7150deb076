"""The metric catalog: problem types, the model metrics that fit each, and the metric names of
monitor alert rules. Gates, monitors and `lakestack validate` all consult it.

A model version records its problem type (`binary`, `multiclass` or `regression`): declared in
`models.<name>.problem` of lakestack.yaml, else inferred from the label when it is logged. A
metric is only computed for a problem it fits; anything else is refused with a message that
names the metric, the problem and the metrics that do fit. There is no default problem.

A leaf module (no lakestack imports), so that the configuration, the registry and monitoring
share it without importing each other.

Example:
    >>> metric_misfit("roc_auc", "regression")
    "metric 'roc_auc' does not fit a regression model; its metrics: mae, r2, rmse"
    >>> metric_misfit("rmse", "regression") is None
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

__all__ = [
    "ALL_METRICS",
    "DEFAULT_METRIC",
    "HIGHER_IS_BETTER",
    "MODEL_METRICS",
    "MONITOR_METRICS",
    "PER_CLASS_METRICS",
    "PROBABILITY_METRICS",
    "PROBLEM_TYPES",
    "QUALITY_COUNTS",
    "RULE_TABLES",
    "ProblemType",
    "check_problem",
    "infer_problem",
    "metric_misfit",
    "rule_metric_misfit",
    "rule_metrics",
]

ProblemType = Literal["binary", "multiclass", "regression"]
"""What a model predicts: one of two classes, one of three or more, or a number."""

PROBLEM_TYPES: tuple[ProblemType, ...] = get_args(ProblemType)

MODEL_METRICS: dict[ProblemType, tuple[str, ...]] = {
    # scores: the positive (last) class's probability; labels 0/1 (or the two classes)
    "binary": ("accuracy", "brier", "f1", "log_loss", "precision", "recall", "roc_auc"),
    # scores: one probability per class; f1 is the unweighted mean over classes, ROC AUC the
    # mean of each class against the rest
    "multiclass": ("accuracy", "f1_macro", "log_loss", "roc_auc_ovr"),
    # scores: the predicted value
    "regression": ("mae", "r2", "rmse"),
}
"""The metrics of a model's scores against its labels, per problem type (gates and monitors)."""

ALL_METRICS: tuple[str, ...] = tuple(sorted({m for ms in MODEL_METRICS.values() for m in ms}))

HIGHER_IS_BETTER = frozenset(
    {"accuracy", "f1", "f1_macro", "precision", "r2", "recall", "roc_auc", "roc_auc_ovr"}
)
"""Metrics where a larger value is a better model; the others are errors or losses."""

PROBABILITY_METRICS = frozenset({"brier", "log_loss", "roc_auc", "roc_auc_ovr"})
"""Metrics that need probabilities (or scores); a model returning only classes cannot have them."""

DEFAULT_METRIC: dict[ProblemType, str] = {
    "binary": "roc_auc",
    "multiclass": "log_loss",
    "regression": "rmse",
}
"""The metric the regression and slice gates compare when they name none."""

MONITOR_METRICS: dict[ProblemType, tuple[str, ...]] = {
    "binary": ("accuracy", "roc_auc", "log_loss"),
    "multiclass": ("accuracy", "f1_macro", "log_loss", "roc_auc_ovr"),
    "regression": ("rmse", "mae"),
}
"""The quality metrics a monitor computes per window when its `metrics:` list is empty."""

PER_CLASS_METRICS: tuple[str, ...] = ("support", "precision", "recall", "f1", "roc_auc")
"""A multiclass monitor's metrics per class and window (ROC AUC of the class against the rest)."""

QUALITY_COUNTS: tuple[str, ...] = ("labeled_rows",)
"""Columns of every quality table that are counts, not metrics; rules may use them too."""


def _listing(names: Sequence[str]) -> str:
    return ", ".join(sorted(names))


def check_problem(value: Any) -> ProblemType:
    """`value` as a problem type.

    Raises:
        ValueError: it is not one; the message lists the problem types.
    """
    if value in PROBLEM_TYPES:
        return value  # type: ignore[no-any-return]
    hint = " (say which: binary or multiclass)" if value == "classification" else ""
    raise ValueError(f"unknown problem type {value!r}{hint}; use one of {', '.join(PROBLEM_TYPES)}")


def metric_misfit(metric: str, problem: ProblemType | None = None) -> str | None:
    """Why `metric` cannot be computed for a `problem` model (None when it can).

    Args:
        metric: a metric name, e.g. `roc_auc`.
        problem: the model's problem type; None checks only that some problem has the metric.

    Returns:
        A message naming the metric, the problem and the metrics that fit; None when it fits.
    """
    if problem is None:
        if metric in ALL_METRICS:
            return None
        return f"unknown metric {metric!r}; known metrics: {_listing(ALL_METRICS)}"
    fitting = MODEL_METRICS[problem]
    if metric in fitting:
        return None
    what = "does not fit" if metric in ALL_METRICS else "is not a metric of"
    return f"metric {metric!r} {what} a {problem} model; its metrics: {_listing(fitting)}"


RULE_TABLES: dict[str, tuple[str, ...]] = {
    "drift": ("psi", "jensen_shannon", "statistic", "p_value", "ks_statistic", "ks_p_value"),
    "profile": ("count", "nulls", "null_fraction", "mean", "p05", "p25", "p50", "p75", "p95"),
    "quality": (*ALL_METRICS, *QUALITY_COUNTS),
}
"""The metrics an alert rule may name, per metric table (`quality` depends on the problem)."""


def rule_metrics(table: str, problem: ProblemType | None = None) -> tuple[str, ...]:
    """The `<table>.<metric>` names a rule may use; for `quality`, those of a `problem` model
    (every problem's when None). Empty for an unknown table."""
    if table == "quality" and problem is not None:
        return (*MODEL_METRICS[problem], *QUALITY_COUNTS)
    return RULE_TABLES.get(table, ())


def rule_metric_misfit(table: str, metric: str, problem: ProblemType | None = None) -> str | None:
    """Why an alert rule cannot use `<table>.<metric>` (None when it can).

    Args:
        table: `drift`, `quality` or `profile`.
        metric: the metric name after the dot.
        problem: the monitored model's problem type, when known (it decides `quality.*`).

    Returns:
        A message naming the table or metric, the problem and what fits; None when it fits.
    """
    if table not in RULE_TABLES:
        return f"unknown table {table!r}; use one of {', '.join(RULE_TABLES)}"
    if table == "quality" and problem is not None and metric in ALL_METRICS:
        return metric_misfit(metric, problem)
    known = rule_metrics(table, problem)
    if metric in known:
        return None
    return f"{table} has no metric {metric!r}; its metrics: {', '.join(known)}"


def infer_problem(labels: Sequence[Any] | Any) -> ProblemType | None:
    """The problem type a label column implies, or None when it cannot tell.

    Booleans and columns of exactly two distinct values are `binary`; strings (categories) with
    three or more distinct values `multiclass`; numbers with a fractional part `regression`.
    Whole numbers with three or more distinct values are ambiguous (classes or counts) and give
    None: declare `models.<name>.problem`, or let the model say (`classes_` of a classifier).

    Args:
        labels: the label values (a list, NumPy array, Polars or pandas series); nulls ignored.
    """
    import numpy as np

    values = np.asarray(labels.to_numpy() if hasattr(labels, "to_numpy") else list(labels))
    if values.dtype == object:
        values = np.asarray([v for v in values if v is not None and v == v])  # no None, NaN
    elif values.dtype.kind == "f":
        values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    kind = values.dtype.kind
    distinct = np.unique(values)
    if kind == "b" or distinct.size == 2:
        return "binary"
    if kind in "USO":
        return "multiclass" if distinct.size > 2 else None
    if kind == "f" and not np.all(np.mod(values, 1) == 0):
        return "regression"
    return None
