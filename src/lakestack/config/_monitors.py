"""`monitors.<name>` of `lakestack.yaml`: a monitor, its baseline, labels, metrics and alerts."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from lakestack.config._base import Strict, check_name
from lakestack.metric_catalog import metric_misfit

__all__ = [
    "AlertActionConfig",
    "AlertRuleConfig",
    "MonitorBaselineConfig",
    "MonitorConfig",
    "MonitorLabelsConfig",
]


class MonitorBaselineConfig(Strict):
    """Where a monitor's drift baseline (a `validation.Schema` JSON) comes from."""

    schema_file: str | None = Field(
        default=None,
        description="A schema JSON (`lakestack data profile --out`), relative to the project "
        "root; when unset, the training statistics stored with the model version are used.",
    )
    stage: Literal["staging", "production"] = Field(
        default="production",
        description="The alias of the model version whose stored data schema is the baseline.",
    )


class MonitorLabelsConfig(Strict):
    """Ground truth that arrives late, joined to the inference rows by key."""

    table: str = Field(description="The label table, `schema.table`.")
    keys: list[str] = Field(
        default_factory=lambda: ["request_id", "row"],
        description="Join keys present in both the label table and the inference table.",
    )
    column: str = Field(default="label", description="The label column of the label table.")


class AlertActionConfig(Strict):
    """One action of an alert rule: exactly one of `log`, `webhook`, `retrain`."""

    log: Literal["info", "warning", "error"] | None = Field(
        default=None, description="Log a line at this level (logger `lakestack.monitoring`)."
    )
    webhook: str | None = Field(default=None, description="POST the alert as JSON to this URL.")
    retrain: str | None = Field(
        default=None, description="Trigger this job (or event) through the scheduler."
    )
    timeout_s: float = Field(default=5.0, gt=0, description="Webhook: seconds per attempt.")
    retries: int = Field(default=3, ge=0, le=10, description="Webhook: retries after a failure.")
    backoff_s: float = Field(
        default=0.5, ge=0, description="Webhook: first wait between attempts, doubled each retry."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> AlertActionConfig:
        kinds = [k for k in ("log", "webhook", "retrain") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                "an alert action needs exactly one of `log`, `webhook`, `retrain`; "
                f"got {', '.join(kinds) or 'none'}"
            )
        return self


class AlertRuleConfig(Strict):
    """An alert rule: a condition on the monitor's metric tables and its actions."""

    name: str = Field(description="The rule's name, unique in its monitor.")
    when: str = Field(
        description="The condition, e.g. `drift.psi > 0.2 on any feature in 2 of the last 3 "
        "windows` (grammar: docs/monitoring.md)."
    )
    actions: list[AlertActionConfig] = Field(
        default_factory=lambda: [AlertActionConfig(log="warning")],
        description="What to do when the rule starts firing (default: a warning log line).",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "alert rule name")


class MonitorConfig(Strict):
    """A monitor of an inference table (`lakestack monitor run <name>`; docs/monitoring.md)."""

    table: str = Field(description="The monitored table, e.g. `inference.flights`.")
    model: str = Field(description="The registered model whose predictions it holds.")
    time_column: str = Field(default="ts", description="The timestamp that windows cut on.")
    window: str = Field(default="1d", description="Window length: `<n>s|m|h|d|w`, e.g. `1h`.")
    baseline: MonitorBaselineConfig = Field(default_factory=MonitorBaselineConfig)
    labels: MonitorLabelsConfig | None = Field(
        default=None, description="Late ground truth; model quality is computed once it joins."
    )
    columns: list[str] | None = Field(
        default=None,
        description="The feature columns to profile and compare (default: the baseline's "
        "columns present in the table).",
    )
    slices: list[str] = Field(
        default_factory=list, description="Columns whose values also get their own profile."
    )
    prediction_column: str = Field(default="prediction", description="The model's output.")
    problem: Literal["classification", "regression"] = Field(
        default="classification",
        description="Classification: the prediction is the positive class's probability (or "
        "the 0/1 class); quality is accuracy, ROC AUC, log loss. Regression: RMSE, MAE.",
    )
    metrics: list[str] = Field(
        default_factory=list,
        description="Quality metrics to compute (default: all of the problem's metrics).",
    )
    alerts: list[AlertRuleConfig] = Field(default_factory=list)

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: list[str]) -> list[str]:
        for name in value:
            problem = metric_misfit(name)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        if not re.fullmatch(r"[1-9][0-9]*[smhdw]", value):
            raise ValueError(f"window {value!r} is not `<n>s|m|h|d|w`, e.g. `1h` or `1d`")
        return value

    @model_validator(mode="after")
    def _unique_rules(self) -> MonitorConfig:
        names = [rule.name for rule in self.alerts]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"alert rule names must be unique; repeated: {', '.join(twice)}")
        return self
