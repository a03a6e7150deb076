"""Metric names that do not fit their model's problem type, across the sections of a project file.

A gate's metric, a monitor's `metrics` and the `quality.<metric>` of an alert rule must fit the
problem type declared in `models.<name>.problem`. A model without a declared problem type is
checked when its versions are gated or monitored (its recorded problem type decides then).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from lakestack.config._gates import ModelConfig
from lakestack.config._monitors import MonitorConfig
from lakestack.metric_catalog import RULE_TABLES, ProblemType, metric_misfit, rule_metric_misfit

__all__ = ["metric_misfits"]

_RULE_METRIC = re.compile(r"^\s*(?P<table>\w+)\.(?P<metric>\w+)")


def _valid(kind: type[ModelConfig] | type[MonitorConfig], raw: Any) -> Any:
    # A section that does not validate is reported by the model itself, key by key.
    try:
        return kind.model_validate(raw)
    except (ValidationError, ValueError, TypeError):
        return None


def metric_misfits(data: Any) -> list[tuple[str, str]]:
    """`(key path, message)` for every metric that does not fit its model's problem type.

    Args:
        data: the parsed `lakestack.yaml` (a mapping; other sections may be invalid).

    Returns:
        One pair per misfit, e.g. `("models.price.gates.regression.metric", "metric 'roc_auc'
        does not fit a regression model; its metrics: mae, r2, rmse")`.
    """
    if not isinstance(data, dict):
        return []
    problems: dict[str, ProblemType] = {}
    found: list[tuple[str, str]] = []
    for name, raw in _items(data.get("models")):
        model = _valid(ModelConfig, raw)
        if model is None or model.problem is None:
            continue
        problems[name] = model.problem
        for key, metric in model.gates.metrics():
            message = metric_misfit(metric, model.problem)
            if message:
                found.append((f"models.{name}.gates.{key}", message))
    for name, raw in _items(data.get("monitors")):
        monitor = _valid(MonitorConfig, raw)
        if monitor is None:
            continue
        problem = problems.get(monitor.model)
        where = f"monitors.{name}"
        for i, metric in enumerate(monitor.metrics):
            message = metric_misfit(metric, problem)
            if message:
                found.append((f"{where}.metrics[{i}]", f"{message} (model {monitor.model!r})"))
        for i, rule in enumerate(monitor.alerts):
            match = _RULE_METRIC.match(rule.when)
            if match is None or match["table"].lower() not in RULE_TABLES:
                continue  # the rule grammar (tables included) is checked with the references
            table = match["table"].lower()
            message = rule_metric_misfit(table, match["metric"].lower(), problem)
            if message:
                suffix = f" (model {monitor.model!r})" if problem and table == "quality" else ""
                found.append((f"{where}.alerts[{i}].when", f"{message}{suffix}"))
    return found


def _items(value: Any) -> list[tuple[str, Any]]:
    return [(str(k), v) for k, v in value.items()] if isinstance(value, dict) else []
