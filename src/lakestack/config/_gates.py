"""`models.<name>` of `lakestack.yaml`: a registered model, its problem type and its gates.

Metric names come from the catalog of `lakestack.metric_catalog`: a name no problem type has is an
error here; a name that does not fit the model's declared `problem` is reported by
`metric_misfits` (with the key path), so `lakestack validate` lists it with the rest.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from lakestack.config._base import Strict
from lakestack.metric_catalog import ProblemType, metric_misfit

__all__ = [
    "GatesConfig",
    "InfrastructureGateConfig",
    "MetricThreshold",
    "ModelConfig",
    "RegressionGateConfig",
    "SliceGateConfig",
    "ThresholdGatesConfig",
]

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_THRESHOLD = re.compile(
    rf"^\s*(?P<metric>[a-z_0-9]+)\s*(?P<op>>=|<=|>|<)\s*"
    rf"(?:(?P<production>production)(?:\s*(?P<arith>[*+-])\s*(?P<operand>{_NUMBER}))?"
    rf"|(?P<value>{_NUMBER}))\s*$"
)
GateSeverity = Literal["fail", "warn"]
Stage = Literal["staging", "production"]
_STAGES: tuple[Stage, ...] = ("staging", "production")


def _check_metric(value: str | None) -> str | None:
    problem = None if value is None else metric_misfit(value)
    if problem:
        raise ValueError(problem)
    return value


class _Gate(Strict):
    severity: GateSeverity = Field(
        default="fail",
        description="fail: a failure blocks the promotion; warn: it is reported only.",
    )
    stages: list[Stage] = Field(
        default_factory=lambda: list(_STAGES),
        description="The stages whose promotions run this gate (default: both).",
    )


class MetricThreshold(Strict):
    """A bound on a metric: absolute (`roc_auc >= 0.70`) or relative to production's
    value on the same holdout (`rmse <= production * 1.05`, `roc_auc >= production - 0.01`).

    Attributes:
        metric: the metric.
        op: the comparison.
        value: the bound; when `relative` is set, the factor (`*`) or the offset (`+`, `-`).
        relative: None for an absolute bound; `*`, `+` or `-` for a bound computed from
            production's metric.
    """

    metric: str
    op: Literal[">=", "<=", ">", "<"]
    value: float
    relative: Literal["*", "+", "-"] | None = None

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        _check_metric(value)
        return value

    def bound(self, production: float | None = None) -> float:
        """The bound, from production's value of the metric when the threshold is relative."""
        if self.relative is None:
            return self.value
        if production is None:
            raise ValueError(f"threshold {self} needs production's {self.metric}")
        if self.relative == "*":
            return production * self.value
        return production + self.value if self.relative == "+" else production - self.value

    def __str__(self) -> str:
        if self.relative is None:
            return f"{self.metric} {self.op} {self.value:g}"
        return f"{self.metric} {self.op} production {self.relative} {self.value:g}"


class ThresholdGatesConfig(_Gate):
    """`gates.thresholds`: metric bounds, each `metric op number` or `metric op production ...`."""

    rules: list[MetricThreshold] = Field(
        min_length=1,
        description="The bounds, e.g. ['roc_auc >= 0.70', 'log_loss <= 0.5', "
        "'rmse <= production * 1.05'].",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # `thresholds: [...]` is shorthand for `thresholds: {rules: [...]}`.
        if isinstance(data, list):
            data = {"rules": data}
        if isinstance(data, dict) and isinstance(data.get("rules"), list):
            data = {**data, "rules": [_parse_threshold(rule) for rule in data["rules"]]}
        return data


def _parse_threshold(rule: Any) -> Any:
    if not isinstance(rule, str):
        return rule
    match = _THRESHOLD.match(rule)
    if not match:
        raise ValueError(
            f"threshold {rule!r} is not of the form `metric op number` or `metric op production "
            "[* | + | - number]` (for example 'roc_auc >= 0.70' or 'rmse <= production * 1.05')"
        )
    base = {"metric": match["metric"], "op": match["op"]}
    if match["production"] is None:
        return {**base, "value": float(match["value"])}
    if match["arith"] is None:
        return {**base, "value": 1.0, "relative": "*"}
    return {**base, "value": float(match["operand"]), "relative": match["arith"]}


class RegressionGateConfig(_Gate):
    """`gates.regression`: no regression against the current `production` version.

    Both versions score the same holdout; the gate fails only when the upper bound of the
    bootstrap confidence interval of the metric's improvement is below `-margin` (on the
    holdout rows outside production's training period: see `GatesConfig.overlap`).
    """

    metric: str | None = Field(
        default=None,
        description="The metric compared (default: roc_auc for binary, log_loss for "
        "multiclass, rmse for regression models).",
    )
    margin: float = Field(
        default=0.0, ge=0, description="Tolerated loss: fail if the CI's upper bound < -margin."
    )
    confidence: float = Field(
        default=0.95, gt=0.5, lt=1, description="Confidence level of the bootstrap interval."
    )
    resamples: int = Field(default=500, ge=50, le=20000, description="Bootstrap resamples.")
    seed: int = Field(default=0, description="Seed of the bootstrap (the result is repeatable).")

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str | None) -> str | None:
        return _check_metric(value)


class SliceGateConfig(_Gate):
    """`gates.slices`: the metric per value of declared columns, no slice regressing.

    Against the current `production` version: a slice fails when the candidate is worse by more
    than `tolerance`. With `threshold`, each slice's metric must also meet that bound.
    """

    columns: list[str] = Field(min_length=1, description="Slice columns of the holdout.")
    metric: str | None = Field(
        default=None,
        description="The metric per slice (default: the problem's, as for `regression`).",
    )
    min_support: int = Field(
        default=100, ge=1, description="Slices with fewer holdout rows are not judged."
    )
    tolerance: float = Field(
        default=0.02, ge=0, description="Largest loss against production allowed in a slice."
    )
    threshold: float | None = Field(
        default=None,
        description="An absolute bound per slice (minimum, or maximum for lower-is-better).",
    )

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str | None) -> str | None:
        return _check_metric(value)


class InfrastructureGateConfig(_Gate):
    """`gates.infrastructure`: load the model in a fresh process as serving does and score.

    The input example is scored `warmup` times untimed, then `requests` times timed, with the
    numeric libraries' thread pools (OpenMP, BLAS) pinned to `threads`; the output must match
    the signature's outputs and the p95 CPU time of a request must be within `cpu_ms`. CPU
    time is what the model costs; the wall-clock latency, which also says how busy the
    machine is, is reported beside it.
    """

    cpu_ms: float = Field(
        default=50.0, gt=0, description="p95 budget of CPU time per request, in milliseconds."
    )
    requests: int = Field(default=20, ge=1, le=10000, description="Requests timed.")
    warmup: int = Field(default=5, ge=1, le=1000, description="Untimed requests first.")
    threads: int = Field(
        default=1,
        ge=1,
        le=256,
        description="Threads of OpenMP and BLAS in the fresh process (serving scores one "
        "request per thread; more threads fight over the cores on a loaded machine).",
    )
    timeout_s: float = Field(
        default=300.0, gt=0, description="Seconds the fresh process may take in all."
    )

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "latency_ms" in data:
            raise ValueError(
                "latency_ms is now cpu_ms: the budget is the CPU time a request costs (p95), "
                "which a busy machine does not inflate as it does wall-clock latency; rename "
                f"the key (cpu_ms: {data['latency_ms']})"
            )
        return data


class GatesConfig(Strict):
    """`models.<name>.gates`: what a version must pass to get an alias."""

    thresholds: ThresholdGatesConfig | None = Field(
        default=None, description="Metric bounds: ['roc_auc >= 0.70', ...]."
    )
    regression: RegressionGateConfig | None = Field(
        default=None, description="No regression against production (bootstrap CI)."
    )
    slices: SliceGateConfig | None = Field(
        default=None, description="No regression per slice (e.g. per origin airport)."
    )
    infrastructure: InfrastructureGateConfig | None = Field(
        default=None, description="Load as serving does in a fresh process; output and latency."
    )
    overlap: Literal["rescope", "refuse"] = Field(
        default="rescope",
        description="Comparisons with production (regression, slices, relative thresholds) "
        "on a holdout that overlaps production's recorded training period: rescope keeps the "
        "rows outside that period; refuse fails those gates.",
    )
    min_rescoped_rows: int = Field(
        default=100, ge=1, description="Fewest holdout rows a rescoped comparison judges on."
    )

    def metrics(self) -> list[tuple[str, str]]:
        """`(key path below gates, metric)` of every metric the gates name."""
        found: list[tuple[str, str]] = []
        if self.thresholds is not None:
            for i, rule in enumerate(self.thresholds.rules):
                found.append((f"thresholds[{i}]", rule.metric))
        for key, gate in (("regression", self.regression), ("slices", self.slices)):
            if gate is not None and gate.metric is not None:
                found.append((f"{key}.metric", gate.metric))
        return found


class ModelConfig(Strict):
    """A registered model: its problem type, label, feature lookups and validation gates."""

    description: str = ""
    problem: ProblemType | None = Field(
        default=None,
        description="binary, multiclass or regression. Recorded with every version; when "
        "unset, inferred from the label (and the model) when a version is logged.",
    )
    label: str | None = Field(
        default=None, description="The label column of the holdout the gates score."
    )
    features: list[dict[str, Any]] = Field(
        default_factory=list, description="Feature lookups (see the feature store docs)."
    )
    gates: GatesConfig = Field(default_factory=GatesConfig, description="Validation gates.")

    @field_validator("problem", mode="before")
    @classmethod
    def _problem(cls, value: Any) -> Any:
        from lakestack.metric_catalog import check_problem

        return None if value is None else check_problem(value)
