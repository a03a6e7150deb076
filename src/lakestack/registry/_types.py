"""What the registry takes and returns: lineage, model versions, gate results, transitions."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

from lakestack.metric_catalog import ProblemType, check_problem
from lakestack.validation import Severity

if TYPE_CHECKING:
    from lakestack.lake import CodeVersion

__all__ = [
    "STAGES",
    "TAG_PREFIX",
    "GateReport",
    "GateResult",
    "Holdout",
    "Lineage",
    "ModelVersionInfo",
    "Promotion",
    "RegisteredModelInfo",
    "Stage",
    "TrainingPeriod",
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


def _utc(value: datetime | date | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class TrainingPeriod:
    """The time range of the rows a version was trained on: `start <= column < end`.

    The regression gate keeps a candidate's holdout out of production's training period with it.
    Naive times and dates are UTC; ISO 8601 text is accepted.

    Example:
        >>> TrainingPeriod("sched_dep_ts", "2013-01-01", "2013-07-01")  # doctest: +SKIP
    """

    column: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start))
        object.__setattr__(self, "end", _utc(self.end))
        if not self.start < self.end:
            raise ValueError(f"training period: start {self.start} is not before end {self.end}")

    def to_json(self) -> str:
        doc = {"column": self.column, "start": self.start.isoformat(), "end": self.end.isoformat()}
        return json.dumps(doc, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainingPeriod:
        doc = json.loads(text)
        return cls(str(doc["column"]), doc["start"], doc["end"])


@dataclass(frozen=True)
class Lineage:
    """Where a version comes from, recorded with it (tags `lakestack.*` and `lineage.json`).

    Attributes:
        training_tables: tables read to train and their Delta versions (the feature spec's
            tables are added).
        holdout: where the holdout is, so that gates can score it again later.
        training_period: the time range of the training rows (the regression gate keeps later
            candidates' holdouts out of it).
        feature_spec: the training set's feature spec (`FeatureSpec`, a dict or JSON).
        data_schema: the training data's schema and statistics (`validation.Schema`).
        pipeline_run_id: the pipeline run that trained it (default: the lake's, `ctx.run_id`).
        code: the code version (default: the project folder's git commit and dirty flag).
        entry_point: `module:function` retraining from `TrainingInputs`, for `reproduce`.
        params: training parameters (passed back to the entry point by `reproduce`).
        metrics: evaluation metrics (compared by `reproduce`).

    Example:
        >>> Lineage(training_tables={"gold.flights_training": 7},
        ...         holdout=Holdout("gold.flights_training", 7, "delayed"),
        ...         training_period=TrainingPeriod("sched_dep_ts", "2013-01-01", "2013-07-01"),
        ...         metrics={"roc_auc": 0.74})  # doctest: +SKIP
    """

    training_tables: Mapping[str, int] = field(default_factory=dict)
    holdout: Holdout | None = None
    training_period: TrainingPeriod | None = None
    feature_spec: Any = None
    data_schema: Any = None
    pipeline_run_id: str | None = None
    code: CodeVersion | None = None
    entry_point: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)


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

    @property
    def training_period(self) -> TrainingPeriod | None:
        """The recorded time range of the training rows, if one was logged."""
        value = self.tag("training_period")
        return None if value is None else TrainingPeriod.from_json(value)

    @property
    def problem(self) -> ProblemType | None:
        """The recorded problem type (None for a version logged before lakestack recorded it)."""
        value = self.tag("problem")
        return None if value is None else check_problem(value)

    @property
    def classes(self) -> list[Any] | None:
        """A classifier's classes in the order of its probability columns (the last one is the
        positive class of a binary model); None when not recorded."""
        value = self.json_tag("classes")
        return None if value is None else list(value)

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
            **self.__dict__,
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
