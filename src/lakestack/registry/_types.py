"""What the registry returns: model versions, gate results, transitions, holdout references."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from lakestack.validation import Severity

__all__ = [
    "STAGES",
    "TAG_PREFIX",
    "GateReport",
    "GateResult",
    "Holdout",
    "ModelVersionInfo",
    "Promotion",
    "RegisteredModelInfo",
    "Stage",
    "Transition",
]

Stage = Literal["staging", "production"]
STAGES: tuple[Stage, ...] = ("staging", "production")
TAG_PREFIX = "lakestack."


@dataclass(frozen=True)
class Holdout:
    """Where a version's holdout lives, so that gates can score it again later.

    Attributes:
        table: the Delta table, `schema.table`.
        version: the Delta version read (time travel pins it).
        label: the label column.
        filters: deltalake DNF filters selecting the holdout rows, e.g. `[["month", ">=", 7]]`.
        environment: the environment whose lake holds the table (the registry's by default).

    Example:
        >>> Holdout("gold.flights_training", version=4, label="delayed",
        ...         filters=[["month", ">=", 7]])  # doctest: +SKIP
    """

    table: str
    version: int
    label: str
    filters: Sequence[Sequence[Any]] | None = None
    environment: str | None = None

    def to_json(self) -> str:
        doc = asdict(self)
        doc["filters"] = None if self.filters is None else [list(f) for f in self.filters]
        return json.dumps(doc, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> Holdout:
        doc = json.loads(text)
        return cls(
            table=str(doc["table"]),
            version=int(doc["version"]),
            label=str(doc["label"]),
            filters=doc.get("filters"),
            environment=doc.get("environment"),
        )


@dataclass(frozen=True)
class ModelVersionInfo:
    """A registered model version with its lakestack lineage.

    Attributes:
        name: the registered model's name.
        version: the version number.
        aliases: the aliases it holds (`staging`, `production`).
        run_id: the MLflow run that logged it.
        model_id: the MLflow 3 logged model id.
        source: the model's artifact source URI.
        created: when it was registered.
        tags: every version tag (lakestack's lineage is under `lakestack.`).
        description: the version's description.
    """

    name: str
    version: int
    aliases: tuple[str, ...]
    run_id: str | None
    model_id: str | None
    source: str
    created: datetime
    tags: dict[str, str]
    description: str = ""

    @property
    def uri(self) -> str:
        """`models:/<name>/<version>`."""
        return f"models:/{self.name}/{self.version}"

    def tag(self, key: str) -> str | None:
        """A lakestack tag without its prefix (`code_commit`, `training_tables`, ...)."""
        return self.tags.get(TAG_PREFIX + key)

    def json_tag(self, key: str) -> Any:
        """A lakestack tag holding JSON, decoded (None when absent)."""
        value = self.tag(key)
        return None if value is None else json.loads(value)

    @property
    def training_tables(self) -> dict[str, int]:
        """The tables read to train this version and their Delta versions."""
        return {str(k): int(v) for k, v in (self.json_tag("training_tables") or {}).items()}

    @property
    def holdout(self) -> Holdout | None:
        """The recorded holdout, if one was logged."""
        value = self.tag("holdout")
        return None if value is None else Holdout.from_json(value)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["created"] = self.created.isoformat()
        out["aliases"] = list(self.aliases)
        out["uri"] = self.uri
        return out


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate.

    Attributes:
        name: what was checked, e.g. `threshold roc_auc >= 0.7` or `regression roc_auc`.
        kind: `threshold`, `regression`, `slices` or `infrastructure`.
        passed: whether the check passed.
        severity: FAIL blocks a promotion when the gate fails; WARN is reported only.
        message: one sentence saying what was found.
        numbers: the measured values (metric, bounds, confidence interval, latency, ...).
        details: rows of detail, e.g. one per slice.
    """

    name: str
    kind: str
    passed: bool
    severity: Severity
    message: str
    numbers: dict[str, Any] = field(default_factory=dict)
    details: list[dict[str, Any]] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        """True when this result stops a promotion."""
        return not self.passed and self.severity is Severity.FAIL

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["severity"] = self.severity.value
        return out

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> GateResult:
        return cls(
            name=str(doc["name"]),
            kind=str(doc["kind"]),
            passed=bool(doc["passed"]),
            severity=Severity(doc["severity"]),
            message=str(doc["message"]),
            numbers=dict(doc.get("numbers") or {}),
            details=list(doc.get("details") or []),
        )


@dataclass(frozen=True)
class GateReport:
    """Every gate run for one candidate version and stage.

    Attributes:
        model: the registered model.
        version: the candidate version.
        stage: the stage it is promoted to.
        baseline_version: the `production` version compared against, if any.
        results: one result per gate.
    """

    model: str
    version: int
    stage: str
    baseline_version: int | None
    results: tuple[GateResult, ...]

    @property
    def passed(self) -> bool:
        """True when no result blocks the promotion."""
        return not any(r.blocking for r in self.results)

    @property
    def failures(self) -> list[GateResult]:
        """The results that block the promotion."""
        return [r for r in self.results if r.blocking]

    def summary(self) -> str:
        """One line per failed gate with its numbers (empty when every gate passed)."""
        return "\n".join(f"  - {r.name}: {r.message}" for r in self.results if not r.passed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "stage": self.stage,
            "baseline_version": self.baseline_version,
            "passed": self.passed,
            "results": [r.to_dict() for r in self.results],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, default=_json_default)

    @classmethod
    def from_json(cls, text: str) -> GateReport:
        doc = json.loads(text)
        return cls(
            model=str(doc["model"]),
            version=int(doc["version"]),
            stage=str(doc["stage"]),
            baseline_version=doc.get("baseline_version"),
            results=tuple(GateResult.from_dict(r) for r in doc.get("results", [])),
        )


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


@dataclass(frozen=True)
class Transition:
    """One row of `system.model_transitions`: an alias moved (or a move refused, or a copy).

    Attributes:
        transition_id: a unique id.
        ts: when (UTC).
        environment: the environment whose registry changed.
        model: the registered model.
        stage: the alias (`staging`, `production`); empty for a copy.
        action: `promote`, `rollback` or `copy`.
        outcome: `applied`, or `refused` when a gate failed and no alias moved.
        from_version: the alias's holder before (None when it had none).
        to_version: the alias's holder after (for `refused`: the candidate).
        principal: who did it.
        reason: why (required with `forced`).
        forced: the gates were overridden.
        gate_results: the gate report as JSON ("" when no gate ran).
        pipeline_run_id: the pipeline run that did it, if any.
    """

    transition_id: str
    ts: datetime
    environment: str
    model: str
    stage: str
    action: str
    outcome: str
    from_version: int | None
    to_version: int | None
    principal: str
    reason: str
    forced: bool
    gate_results: str
    pipeline_run_id: str | None = None

    @property
    def applied(self) -> bool:
        return self.outcome == "applied"

    def gate_report(self) -> GateReport | None:
        """The recorded gate report, if gates ran."""
        return GateReport.from_json(self.gate_results) if self.gate_results else None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ts"] = self.ts.isoformat()
        return out


@dataclass(frozen=True)
class Promotion:
    """What `promote` did.

    Attributes:
        model: the registered model.
        version: the candidate version (in the target environment's registry).
        stage: the alias.
        environment: the environment whose registry was changed.
        previous_version: the alias's holder before.
        applied: whether the alias moved (False when a gate failed, or it already held it).
        forced: the gates were overridden.
        report: the gate results.
        transition: the recorded transition (None when nothing was recorded).
    """

    model: str
    version: int
    stage: str
    environment: str
    previous_version: int | None
    applied: bool
    forced: bool
    report: GateReport
    transition: Transition | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "stage": self.stage,
            "environment": self.environment,
            "previous_version": self.previous_version,
            "applied": self.applied,
            "forced": self.forced,
            "report": self.report.to_dict(),
            "transition": None if self.transition is None else self.transition.to_dict(),
        }


@dataclass(frozen=True)
class RegisteredModelInfo:
    """A registered model: its aliases and latest version.

    Attributes:
        name: the registered model's name.
        description: its description.
        aliases: alias -> version (`staging`, `production`, ...).
        latest_version: the newest version number (None before the first).
        updated: when it last changed.
    """

    name: str
    description: str
    aliases: dict[str, int]
    latest_version: int | None
    updated: datetime | None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["updated"] = None if self.updated is None else self.updated.isoformat()
        return out
