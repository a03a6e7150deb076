"""Every table lakestack itself writes: its name, its columns with their types, its keys.

One owner for the tables that several capabilities share: serving writes `inference.<endpoint>`
and monitoring reads it; pipelines write `system.runs` and the CLI lists it; the registry appends
to `system.model_transitions`; monitors merge into `monitoring.*`. Each table is one declarative
`SystemTable`; a capability that adds a table adds one constant here and lists it in `ALL`.

A leaf module: it imports nothing of lakestack and nothing heavy, so that any package may import
it. Column types are plain names (`string`, `int64`, `timestamp`, ...); `arrow_schema()` and
`polars_schema()` build the library types when asked. See docs/architecture.md for who writes
and who reads each table.

Example:
    >>> from lakestack.system_tables import INFERENCE, RUNS
    >>> RUNS.name
    'system.runs'
    >>> INFERENCE.table(endpoint="flights-delay")
    'inference.flights_delay'
    >>> RUNS.column_names[:3]
    ('run_id', 'job', 'environment')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ACCESS_GRANTS",
    "ACCESS_TOKENS",
    "ALERTS",
    "ALL",
    "AUDIT",
    "DEPLOYMENTS",
    "INFERENCE",
    "INFERENCE_REJECTED",
    "MODEL_TRANSITIONS",
    "MONITOR_DRIFT",
    "MONITOR_PROFILE",
    "MONITOR_QUALITY",
    "MONITOR_STATE",
    "RUNS",
    "TASK_RUNS",
    "TYPES",
    "Column",
    "SystemTable",
    "arrow_type",
    "by_name",
    "polars_type",
    "table_part",
]

TYPES = ("bool", "float64", "int32", "int64", "string", "timestamp")
"""The column type names; `timestamp` is microseconds in UTC."""

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def table_part(value: str) -> str:
    """`value` as part of a table name: lower case, every other character than `[a-z0-9_]` `_`."""
    return re.sub(r"[^a-z0-9_]", "_", value.lower())


@dataclass(frozen=True)
class Column:
    """One column of a system table.

    Attributes:
        name: the column's name.
        type: one of `TYPES`.
        doc: what the column holds, when the name does not say it.
    """

    name: str
    type: str
    doc: str = ""

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"column {self.name!r}: type {self.type!r} is not one of {TYPES}")


@dataclass(frozen=True)
class SystemTable:
    """A table lakestack writes: a fixed name or a name pattern, columns, keys.

    Attributes:
        name: `schema.table`, or a pattern with `{placeholders}` (`inference.{endpoint}`).
        columns: the columns every such table has, in order.
        keys: the columns a merge matches rows on (empty for an append-only table).
        doc: what a row is.
        extra: which further columns may follow the declared ones ("" when none may).
        reserved: names a further column may not take, beyond the declared columns.
    """

    name: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...] = ()
    doc: str = ""
    extra: str = ""
    reserved: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        names = self.column_names
        if len(set(names)) != len(names):
            raise ValueError(f"system table {self.name!r} declares a column twice")
        unknown = [k for k in self.keys if k not in names]
        if unknown:
            raise ValueError(f"system table {self.name!r}: keys {unknown} are not its columns")

    @property
    def column_names(self) -> tuple[str, ...]:
        """The declared column names, in order."""
        return tuple(c.name for c in self.columns)

    @property
    def reserved_names(self) -> frozenset[str]:
        """The names no further column may take: the declared columns and `reserved`."""
        return frozenset({*self.column_names, *self.reserved})

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The `{placeholders}` of a name pattern (empty for a fixed name)."""
        return tuple(_PLACEHOLDER.findall(self.name))

    def table(self, **parts: str) -> str:
        """The concrete table name: each placeholder filled with `table_part(value)`.

        Raises:
            ValueError: a placeholder has no value, or a value is given for none.
        """
        wanted = set(self.placeholders)
        if set(parts) != wanted:
            raise ValueError(
                f"system table {self.name!r} takes {sorted(wanted) or 'no parts'}, "
                f"got {sorted(parts)}"
            )
        return _PLACEHOLDER.sub(lambda m: table_part(parts[m.group(1)]), self.name)

    def column(self, name: str) -> Column:
        """The declared column `name`.

        Raises:
            KeyError: the table declares no such column.
        """
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"system table {self.name!r} has no column {name!r}")

    def arrow_schema(self) -> pa.Schema:
        """The declared columns as a pyarrow schema (imports pyarrow)."""
        import pyarrow as pa

        return pa.schema([(c.name, arrow_type(c.type)) for c in self.columns])

    def mismatches(self, schema: pa.Schema) -> list[str]:
        """How a written table's schema differs from this declaration (empty when it agrees).

        Every declared column must be there with its type; further columns only when `extra`
        allows them.
        """
        problems = []
        for column in self.columns:
            if column.name not in schema.names:
                problems.append(f"column {column.name!r} is missing")
                continue
            expected, found = arrow_type(column.type), schema.field(column.name).type
            if found != expected:
                problems.append(f"column {column.name!r} is {found}, not {expected}")
        if not self.extra:
            declared = set(self.column_names)
            problems += [f"column {n!r} is not declared" for n in schema.names if n not in declared]
        return problems

    def polars_schema(self) -> dict[str, Any]:
        """The declared columns as a Polars schema mapping (imports polars)."""
        return {c.name: polars_type(c.type) for c in self.columns}


def arrow_type(name: str) -> pa.DataType:
    """The pyarrow type of a column type name."""
    import pyarrow as pa

    if name == "timestamp":
        return pa.timestamp("us", tz="UTC")
    if name == "bool":
        return pa.bool_()
    factory = getattr(pa, name)
    kind: pa.DataType = factory()
    return kind


def polars_type(name: str) -> Any:
    """The Polars data type of a column type name."""
    import polars as pl

    return {
        "bool": pl.Boolean,
        "float64": pl.Float64,
        "int32": pl.Int32,
        "int64": pl.Int64,
        "string": pl.String,
        "timestamp": pl.Datetime("us", "UTC"),
    }[name]


def _cols(spec: str) -> tuple[Column, ...]:
    """Columns from `name:type` words (a compact spelling for the tables below)."""
    out = []
    for word in spec.split():
        name, _, kind = word.partition(":")
        out.append(Column(name, kind))
    return tuple(out)


# -- serving ---------------------------------------------------------------------------------

INFERENCE = SystemTable(
    name="inference.{endpoint}",
    columns=_cols(
        "record_id:string request_id:string row:int32 ts:timestamp endpoint:string model:string"
        " model_version:int64 variant:string status:int32 latency_ms:float64 error:string"
        " prediction:float64 output:string"
    ),
    keys=("record_id",),
    doc="one row of one request to an endpoint, with its response; written by serving",
    extra="the request's inputs, one typed column each; `inputs_json` holds those that do not fit",
    reserved=("inputs_json",),
)

INFERENCE_REJECTED = SystemTable(
    name="inference.{endpoint}_rejected",
    columns=_cols(
        "record_id:string request_id:string variant:string ts:timestamp endpoint:string"
        " rejected_at:timestamp attempts:int32 reason:string record:string"
    ),
    keys=("record_id",),
    doc="an inference record that could not be appended to `inference.{endpoint}` (its data"
    " did not fit): the spooled record, intact, as JSON, and why; written by serving",
)

# -- pipelines -------------------------------------------------------------------------------

RUNS = SystemTable(
    name="system.runs",
    columns=_cols(
        "run_id:string job:string environment:string status:string trigger:string params:string"
        " engine:string code_commit:string code_dirty:bool started_at:timestamp"
        " ended_at:timestamp resumed_from:string error:string host:string pid:int64"
        " recorded_at:timestamp"
    ),
    doc="a run of a job when it starts and when it ends (append-only; the latest row wins)",
)

TASK_RUNS = SystemTable(
    name="system.task_runs",
    columns=_cols(
        "run_id:string job:string environment:string task:string attempt:int32 status:string"
        " started_at:timestamp ended_at:timestamp duration_s:float64 params:string error:string"
        " traceback:string reads:string writes:string metrics:string mlflow_run_ids:string"
        " output:string log_path:string reused_from:string worker:string recorded_at:timestamp"
    ),
    doc="one attempt of one task, or a task a run skipped, cancelled or reused (append-only)",
)

# -- registry --------------------------------------------------------------------------------

MODEL_TRANSITIONS = SystemTable(
    name="system.model_transitions",
    columns=_cols(
        "transition_id:string ts:timestamp environment:string model:string stage:string"
        " action:string outcome:string from_version:int64 to_version:int64 principal:string"
        " reason:string forced:bool gate_results:string pipeline_run_id:string"
    ),
    doc="an alias moved, a move a gate refused, or a copy between environments (append-only)",
)

# -- monitoring ------------------------------------------------------------------------------

ALERTS = SystemTable(
    name="monitoring.alerts",
    columns=_cols(
        "alert_id:string monitor:string rule:string condition:string state:string"
        " message:string value:float64 window_start:timestamp fired_at:timestamp"
        " resolved_at:timestamp environment:string actions:string"
    ),
    keys=("alert_id",),
    doc="an alert of a monitor's rule: `firing`, then `resolved`",
)

_WINDOW = "window_start:timestamp window_end:timestamp"

MONITOR_PROFILE = SystemTable(
    name="monitoring.{monitor}_profile",
    columns=_cols(
        f"{_WINDOW} slice:string column:string count:int64 nulls:int64 mean:float64"
        " p05:float64 p25:float64 p50:float64 p75:float64 p95:float64 frequencies:string"
    ),
    keys=("window_start", "slice", "column"),
    doc="profile metrics of one window, slice and column of a monitored table",
)

MONITOR_DRIFT = SystemTable(
    name="monitoring.{monitor}_drift",
    columns=_cols(
        f"{_WINDOW} reference:string column:string method:string statistic:float64"
        " p_value:float64 psi:float64 jensen_shannon:float64 ks_statistic:float64"
        " ks_p_value:float64 drifted:bool n_reference:int64 n_current:int64"
    ),
    keys=("window_start", "reference", "column"),
    doc="drift of one window and column against a reference (`baseline` or `previous`)",
)

MONITOR_QUALITY = SystemTable(
    name="monitoring.{monitor}_quality",
    columns=_cols(
        f"{_WINDOW} rows:int64 labeled_rows:int64 labels_version:int64 computed_at:timestamp"
    ),
    keys=("window_start",),
    doc="model quality of one window, from the predictions joined with their labels",
    extra="one float64 column per quality metric the monitor computes",
)

MONITOR_STATE = SystemTable(
    name="monitoring.{monitor}_state",
    columns=_cols(f"{_WINDOW} rows:int64 processed_at:timestamp"),
    keys=("window_start",),
    doc="a window a monitor processed, with its row count",
)

# -- deploy ----------------------------------------------------------------------------------

DEPLOYMENTS = SystemTable(
    name="system.deployments",
    columns=_cols(
        "deployment_id:string environment:string action:string code_commit:string"
        " code_dirty:bool refs:string previous_id:string restores_id:string principal:string"
        " host:string deployed_at:timestamp reason:string project_file:string resolved:string"
        " jobs:string schedules:string endpoints:string monitors:string"
    ),
    keys=("deployment_id",),
    doc="a code version deployed to an environment, or a rollback to an earlier one "
    "(append-only; the latest row is the environment's current deployment). `project_file` "
    "is lakestack.yaml as committed, `resolved` the active configuration as JSON, `jobs`, "
    "`schedules`, `endpoints` and `monitors` what is active, as JSON",
)

# -- access ----------------------------------------------------------------------------------

AUDIT = SystemTable(
    name="system.audit",
    columns=_cols(
        "audit_id:string ts:timestamp environment:string principal:string action:string"
        " object:string outcome:string reason:string role:string origin:string run_id:string"
    ),
    doc="an action a principal did or was refused (`allowed`, `denied`), and why (append-only)",
)

ACCESS_TOKENS = SystemTable(
    name="system.access_tokens",
    columns=_cols(
        "token_id:string event:string ts:timestamp principal:string name:string sha256:string"
        " expires_at:timestamp by:string"
    ),
    doc="a token `created` (with the SHA-256 of the token, never the token) or `revoked`",
)

ACCESS_GRANTS = SystemTable(
    name="system.access_grants",
    columns=_cols("principal:string role:string ts:timestamp by:string reason:string"),
    doc="a role granted at run time, or its end (empty role); the latest row per principal wins",
)

ALL: tuple[SystemTable, ...] = (
    INFERENCE_REJECTED,  # before INFERENCE, whose pattern `by_name` would match first
    INFERENCE,
    RUNS,
    TASK_RUNS,
    MODEL_TRANSITIONS,
    ALERTS,
    MONITOR_PROFILE,
    MONITOR_DRIFT,
    MONITOR_QUALITY,
    MONITOR_STATE,
    AUDIT,
    ACCESS_TOKENS,
    ACCESS_GRANTS,
    DEPLOYMENTS,
)
"""Every system table, in the order of the layers that write them."""


def by_name(name: str) -> SystemTable:
    """The system table a concrete table name belongs to (`inference.flights` -> `INFERENCE`).

    Raises:
        KeyError: the name is no system table's.
    """
    for spec in ALL:
        if re.fullmatch(_pattern(spec.name), name):
            return spec
    raise KeyError(f"{name!r} is not a system table")


def _pattern(name: str) -> str:
    """A regular expression for the concrete names of a name pattern."""
    parts = _PLACEHOLDER.split(name)  # the placeholder names sit at the odd positions
    return "".join(re.escape(p) if i % 2 == 0 else "[a-z0-9_]+" for i, p in enumerate(parts))
