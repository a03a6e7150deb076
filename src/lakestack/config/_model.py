"""The pydantic model of `lakestack.yaml` (reference: docs/lakestack-yaml.md).

Every model forbids unknown keys, so a typo is an error that names the key. Paths are kept as
written here; `_load.py` resolves them against the project folder.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from lakestack.config._base import Strict as _Strict
from lakestack.config._base import check_name as _check_name
from lakestack.config._deploy import DeployTargetConfig
from lakestack.config._gates import (
    ModelConfig,
)
from lakestack.config._monitors import (
    MonitorConfig,
)
from lakestack.config._scaling import AutoscalingConfig, ScalingConfig

__all__ = [
    "AccessConfig",
    "EndpointConfig",
    "EnvironmentConfig",
    "Grants",
    "JobConfig",
    "PrincipalConfig",
    "ProjectConfig",
    "ProjectInfo",
    "Role",
    "TaskConfig",
    "TriggerConfig",
    "dag_problems",
]

_TASK_RUN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_TABLE = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")


class ProjectInfo(_Strict):
    """The `project` section."""

    name: str = Field(description="The project's name, used in MLflow experiment names.")
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value, "project name")


class Grants(_Strict):
    """Which other environments may read or write this environment's tables."""

    read: list[str] = Field(default_factory=list, description="Environments that may read.")
    write: list[str] = Field(default_factory=list, description="Environments that may write.")


class EnvironmentConfig(_Strict):
    """One environment (`dev`, `staging`, `prod`, ...): where its assets live."""

    lake: str = Field(description="Lake root: a folder (relative to the project) or a URI.")
    tracking: str = Field(
        description="MLflow tracking URI (sqlite:///..., postgresql+psycopg://...)."
    )
    online_store: str = Field(description="Online feature store: sqlite:///... or redis://...")
    engine: str = Field(default="local", description="Task engine: local, ray or ray://host:port.")
    grants: Grants = Field(default_factory=Grants)
    storage_options: dict[str, str] = Field(
        default_factory=dict, description="Object-store options for the lake (keys, region)."
    )
    control_plane: str | None = Field(
        default=None,
        description="URL of the control-plane server (`lakestack server`) that alone writes "
        "this environment: the CLI sends its writes there with LAKESTACK_TOKEN.",
    )

    @field_validator("control_plane")
    @classmethod
    def _control_plane(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(
                f"control_plane {value!r} is not an http(s) URL: write for example "
                "https://lakestack.example.com or http://127.0.0.1:8700"
            )
        return value.rstrip("/") if value else value

    @field_validator("online_store")
    @classmethod
    def _online_store(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "redis://", "rediss://")):
            raise ValueError(
                f"online_store {value!r} is not supported: write sqlite:///path/online.db "
                "or redis://host:6379/0"
            )
        return value

    @field_validator("engine")
    @classmethod
    def _engine(cls, value: str) -> str:
        if value not in ("local", "ray") and not value.startswith("ray://"):
            raise ValueError(f"engine {value!r} is not known: write local, ray or ray://host:port")
        return value


class TaskConfig(_Strict):
    """One task of a job: a Python function `module:function` that takes a `TaskContext`."""

    name: str = Field(description="The task's name, unique in its job.")
    run: str = Field(description="The task function as module:function.")
    depends_on: list[str] = Field(
        default_factory=list, description="Tasks of the same job that must succeed first."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Parameters, as `ctx.params` in the task."
    )
    params_by_env: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per-environment overrides of params (a shallow merge over params).",
    )
    retries: int = Field(default=0, ge=0, le=20, description="Retries after a failed attempt.")
    retry_delay: float = Field(
        default=1.0,
        ge=0,
        description="Seconds before the first retry; each further retry waits twice as long.",
    )
    timeout: float | None = Field(
        default=None, gt=0, description="Seconds an attempt may run before its process is killed."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value, "task name")

    @field_validator("run")
    @classmethod
    def _run(cls, value: str) -> str:
        if not _TASK_RUN.match(value):
            raise ValueError(
                f"run {value!r} is not of the form module:function "
                "(for example flights_ml.training:train)"
            )
        return value


class TriggerConfig(_Strict):
    """What starts a job besides its schedule: a table update or a named event."""

    on_table_update: str | None = Field(
        default=None, description="Run when this table (schema.table) gets a new Delta version."
    )
    on_event: str | None = Field(
        default=None,
        description="Run when this event is raised (`lakestack trigger NAME`, alert actions).",
    )

    @field_validator("on_table_update")
    @classmethod
    def _table(cls, value: str | None) -> str | None:
        if value is not None and not _TABLE.match(value):
            raise ValueError(
                f"on_table_update {value!r} is not a table name: write <schema>.<table> in "
                "lower case (for example silver.flights)"
            )
        return value

    @field_validator("on_event")
    @classmethod
    def _event(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value, "event name")

    @model_validator(mode="after")
    def _one(self) -> TriggerConfig:
        if (self.on_table_update is None) == (self.on_event is None):
            raise ValueError("a trigger needs exactly one of on_table_update or on_event")
        return self


class JobConfig(_Strict):
    """A job: a DAG of tasks with an optional schedule and triggers."""

    description: str = ""
    tasks: list[TaskConfig] = Field(min_length=1, description="The tasks, in any order.")
    schedule: str | None = Field(
        default=None, description="A 5-field cron expression, in UTC (for example '0 3 * * *')."
    )
    triggers: list[TriggerConfig] = Field(
        default_factory=list, description="Table updates and events that start the job."
    )
    allow_overlap: bool = Field(
        default=False, description="Allow a run to start while another run of this job runs."
    )
    catchup: bool = Field(
        default=False,
        description=(
            "When the scheduler was down over several due times: true runs each missed time "
            "once, in order; false (the default) runs only the latest one."
        ),
    )

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from croniter import croniter

        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(
                f"schedule {value!r} is not a 5-field cron expression "
                "(minute hour day month weekday, for example '0 3 * * *')"
            )
        return value

    @field_validator("tasks")
    @classmethod
    def _unique(cls, value: list[TaskConfig]) -> list[TaskConfig]:
        names = [task.name for task in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"task names must be unique; repeated: {', '.join(repeated)}")
        return value


def dag_problems(tasks: list[tuple[str, list[str]]]) -> list[tuple[int, str]]:
    """Unknown dependencies and cycles among `(name, depends_on)` pairs.

    Returns:
        `(task index, message)` for each problem; empty when the tasks form a DAG.
    """
    names = [name for name, _ in tasks]
    known = set(names)
    problems: list[tuple[int, str]] = []
    for i, (name, deps) in enumerate(tasks):
        unknown = [dep for dep in deps if dep not in known]
        if unknown:
            problems.append(
                (
                    i,
                    f"task {name!r} depends on unknown task(s) {', '.join(unknown)}; "
                    f"known tasks: {', '.join(names)}",
                )
            )
    cycle = _find_cycle({name: [d for d in deps if d in known] for name, deps in tasks})
    if cycle:
        problems.append(
            (
                names.index(cycle[0]),
                f"tasks form a cycle: {' -> '.join(cycle)}; remove one of these depends_on",
            )
        )
    return problems


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


class EndpointConfig(_Strict):
    """An online serving endpoint (`lakestack serve <name>`; see docs/serving.md)."""

    model: str = Field(description="The registered model served.")
    stage: Literal["staging", "production"] = Field(
        default="production", description="The alias whose version answers requests."
    )
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes.")
    engine: Literal["local", "ray"] = Field(
        default="local",
        description="`local`: uvicorn processes on this machine (`workers`). `ray`: a Ray "
        "Serve deployment on the environment's Ray (its `engine:`), with replicas that "
        "`autoscaling` adds and removes.",
    )
    autoscaling: AutoscalingConfig | None = Field(
        default=None,
        description="With `engine: ray`: min_replicas, max_replicas, target_ongoing_requests "
        "(default 1, 3, 2).",
    )
    scaling: ScalingConfig = Field(
        default_factory=ScalingConfig, description="Replicas and resources on a cluster."
    )
    auth: Literal["none", "token"] = Field(
        default="none",
        description="`token`: /invocations and /metrics need `Authorization: Bearer <token>` "
        "of a principal with at least the reader role in the environment (docs/access.md).",
    )
    traffic: dict[str, Any] = Field(
        default_factory=dict,
        description="canary / shadow policy: `{canary: {staging: 10}, shadow: staging}`.",
    )
    poll_interval_s: float = Field(
        default=30.0,
        ge=0,
        description="Seconds between checks of the aliases; a moved alias is loaded and "
        "swapped in. 0 disables following the registry.",
    )
    log_inference: bool = Field(
        default=True, description="Log every request to the Delta table inference.<name>."
    )
    log_interval_s: float = Field(
        default=5.0,
        gt=0,
        description="Seconds between appends to the inference table (records are durable in "
        "the local spool meanwhile; a Delta commit costs CPU, so not much less than 1 s).",
    )
    log_fsync: bool = Field(
        default=False,
        description="fsync each spooled record (survives power loss, not only a crash).",
    )
    log_optimize_every: int = Field(
        default=100,
        ge=0,
        description="Compact the inference table (`Lake.optimize`) after this many appends, so "
        "a busy endpoint does not leave thousands of small files; 0 never compacts.",
    )
    allow_missing: bool = Field(
        default=False, description="Accept null in number inputs (passed as NaN)."
    )
    max_body_bytes: int = Field(default=8 << 20, ge=1024, description="Larger bodies get 413.")
    max_rows: int = Field(default=100_000, ge=1, description="Rows per request; more get 413.")
    unknown_keys: Literal["error", "null"] = Field(
        default="error",
        description="A key the online store has no (fresh enough) row for: `error` answers 404 "
        "naming it; `null` scores with those features missing, as training sets have them "
        "(with `allow_missing: true` for number inputs).",
    )
    context_columns: dict[str, Literal["string", "int64", "float64", "bool", "timestamp"]] = Field(
        default_factory=dict,
        description="Request columns logged to the inference table with each row, typed, "
        "but not given to the model (unless it takes them): ids that late labels join on, "
        "the event time a monitor windows on, slice columns. `{flight_id: string, "
        "sched_dep_ts: timestamp}`; timestamps are ISO 8601 (naive = UTC).",
    )
    batch_wait_ms: float | None = Field(
        default=None,
        ge=0,
        le=50,
        description="Micro-batching of requests scored in a worker thread (no NumPy fast "
        "path for the model, or more rows than are scored inline) and without `params`: "
        "unset (the default), requests that arrive while the model is scoring gather and "
        "are scored together in one predict call as soon as it is free (no wait); above 0, "
        "the first request waits at most this many milliseconds for others; 0 scores each "
        "request alone.",
    )
    batch_max_rows: int = Field(
        default=256,
        ge=1,
        le=100_000,
        description="Micro-batching: a batch is scored as soon as it has this many rows.",
    )

    @model_validator(mode="after")
    def _engine(self) -> EndpointConfig:
        if self.engine == "local" and self.autoscaling is not None:
            raise ValueError(
                "autoscaling needs engine: ray (Ray Serve adds and removes the replicas); "
                "set `engine: ray` on the endpoint, or remove `autoscaling`"
            )
        if self.engine == "ray" and self.workers != 1:
            raise ValueError(
                f"workers: {self.workers} is for engine: local; with engine: ray the replicas "
                "are `autoscaling.min_replicas` to `max_replicas`: remove `workers`"
            )
        return self

    @property
    def replicas(self) -> AutoscalingConfig:
        """The autoscaling of a Ray Serve deployment (the defaults when not written)."""
        return self.autoscaling or AutoscalingConfig()


Role = Literal["reader", "developer", "deployer", "admin"]


class PrincipalConfig(_Strict):
    """A person or a service principal (CI), with a role per environment."""

    description: str = Field(default="", description="Who or what this principal is.")
    kind: Literal["user", "service"] = Field(
        default="user", description="`user` for people, `service` for CI and jobs."
    )
    roles: dict[str, Role] = Field(
        default_factory=dict,
        description="Role per environment name (`*` for every environment not named): "
        "reader, developer, deployer or admin.",
    )


class AccessConfig(_Strict):
    """Who may do what: principals and their roles per environment (docs/access.md).

    Without principals a project is single-user: nothing is checked and nothing audited.
    Tokens are not written here: `lakestack access token create` stores their hashes in the
    environment's lake.
    """

    principals: dict[str, PrincipalConfig] = Field(
        default_factory=dict, description="Principals by name (people and service principals)."
    )
    protected: list[str] = Field(
        default_factory=lambda: ["prod"],
        description="Environments whose data, models and jobs only deployers change "
        "(developers may only read there).",
    )
    token_days: int = Field(
        default=90, ge=1, le=365, description="Days a new token is valid unless --days says."
    )

    @field_validator("principals")
    @classmethod
    def _names(cls, value: dict[str, PrincipalConfig]) -> dict[str, PrincipalConfig]:
        for key in value:
            _check_name(key, "principal name")
        return value


class ProjectConfig(_Strict):
    """The whole `lakestack.yaml`."""

    project: ProjectInfo
    environments: dict[str, EnvironmentConfig] = Field(default_factory=dict)
    default_environment: str | None = Field(
        default=None,
        description="The environment used without --env (default: dev, else the first).",
    )
    jobs: dict[str, JobConfig] = Field(default_factory=dict)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    endpoints: dict[str, EndpointConfig] = Field(default_factory=dict)
    monitors: dict[str, MonitorConfig] = Field(default_factory=dict)
    access: AccessConfig = Field(default_factory=AccessConfig)
    deploy: dict[str, DeployTargetConfig] = Field(
        default_factory=dict,
        description="Per environment, the code versions `lakestack deploy` accepts.",
    )

    @field_validator("environments", "jobs", "models", "endpoints", "monitors", "deploy")
    @classmethod
    def _keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            _check_name(key, "name")
        return value
