"""What `lakestack init --data` learns from the user's data: each column's role (identifier,
time, number, category, ignored), the label's problem type, and the label's statistics that
size the gates and alert rules.

A column's role comes from its type and values: dates and timestamps are times; numbers and
booleans are features; strings with few distinct values (relative to the rows) are
categories; a column whose values are all distinct and whose name says `id` or `key` is an
identifier; constant columns and free text are left out, with the reason.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lakestack.errors import DeployError
from lakestack.metric_catalog import PROBLEM_TYPES, ProblemType, check_problem, infer_problem

if TYPE_CHECKING:
    import polars as pl

__all__ = ["ColumnRole", "DataProfile", "inspect_data", "is_table_name", "read_data"]

Role = Literal["id", "time", "numeric", "categorical", "label", "ignored"]
_ID_NAME = re.compile(r"(?i:(^|_)(id|key|uuid)$)|[a-z]Id$")
_MAX_CATEGORIES = 1000
_TEXT_SHARE = 0.5


@dataclass(frozen=True)
class ColumnRole:
    """One column of the data and what the generated project does with it.

    Attributes:
        name: the column.
        type: the type ingest gives it: `string`, `float64`, `int64`, `bool` or `timestamp`.
        role: `id`, `time`, `numeric`, `categorical`, `label` or `ignored`.
        why: for an ignored column, why.
    """

    name: str
    type: str
    role: Role
    why: str = ""


@dataclass(frozen=True)
class DataProfile:
    """The data `lakestack init` inspected.

    Attributes:
        source: the file, folder or table it read.
        rows: its rows.
        columns: every column with its role, in the data's order.
        label: the label column.
        problem: the problem type (given, or inferred from the label).
        time_column: the time column, if any.
        classes: the label's classes, sorted (classification).
        class_shares: each class's share of the labelled rows (classification).
        label_std: the label's standard deviation (regression).
    """

    source: str
    rows: int
    columns: list[ColumnRole]
    label: str
    problem: ProblemType
    time_column: str | None
    classes: list[Any] = field(default_factory=list)
    class_shares: list[float] = field(default_factory=list)
    label_std: float | None = None

    def named(self, role: Role) -> list[str]:
        """The columns of one role, in the data's order."""
        return [c.name for c in self.columns if c.role == role]

    @property
    def prior_log_loss(self) -> float:
        """The log loss of always predicting the class shares: any useful classifier beats it."""
        return -sum(p * math.log(p) for p in self.class_shares if p > 0)


def read_data(source: str, lake_root: str | None = None) -> pl.DataFrame:
    """The rows of a CSV or Parquet file, a Delta table's folder or URI, or (with `lake_root`)
    a table `schema.table[@version]` of a lake.

    Raises:
        DeployError: the source does not exist or cannot be read.
    """
    import polars as pl

    try:
        if lake_root is not None and is_table_name(source):
            from lakestack.lake import Lake

            return Lake(lake_root).read_polars(source)
        if "://" not in source and not Path(source).expanduser().exists():
            raise DeployError(
                f"--data {source}: no such file or folder; give a CSV or Parquet file, a Delta "
                "table's folder, or a table (schema.table) of this project's lake"
            )
        location = source if "://" in source else str(Path(source).expanduser())
        if location.endswith(".csv"):
            return pl.read_csv(location, try_parse_dates=True, infer_schema_length=10_000)
        if location.endswith(".parquet"):
            return pl.read_parquet(location)
        return pl.read_delta(location)
    except DeployError:
        raise
    except Exception as exc:
        raise DeployError(f"--data {source} could not be read: {exc}") from None


def is_table_name(source: str) -> bool:
    """Whether `--data` names a lake table (`schema.table[@version]`), not a file or folder."""
    if Path(source).suffix in (".csv", ".parquet") or Path(source).exists():
        return False
    return bool(re.fullmatch(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*(@\d+)?", source))


def inspect_data(
    data: pl.DataFrame,
    *,
    source: str,
    label: str,
    problem: str | None = None,
    time_column: str | None = None,
) -> DataProfile:
    """Each column's role, the problem type and the label's statistics.

    Args:
        data: the rows.
        source: where they came from (for messages).
        label: the label column.
        problem: `binary`, `multiclass` or `regression` (default: inferred from the label).
        time_column: the column ordering the rows (default: the only date or timestamp
            column, if there is exactly one).

    Raises:
        DeployError: an unknown label or time column, a label without values, or a problem
            type that cannot be inferred or does not fit the label.
    """
    import polars as pl

    columns = list(data.columns)
    if label not in columns:
        raise DeployError(
            f"--label {label}: {source} has no such column; its columns: {', '.join(columns)}"
        )
    values = data[label].drop_nulls()
    if values.len() == 0:
        raise DeployError(f"--label {label}: the column has no values in {source}")
    chosen = _problem(values, label, problem)
    times = [
        c
        for c in columns
        if data.schema[c] in (pl.Date,) or isinstance(data.schema[c], pl.Datetime)
    ]
    if time_column is not None and time_column not in columns:
        raise DeployError(
            f"--time-column {time_column}: {source} has no such column; its columns: "
            f"{', '.join(columns)}"
        )
    if time_column is None and len(times) == 1 and times[0] != label:
        time_column = times[0]
    roles = [_role(data[c], data.height) for c in columns if c not in (label, time_column)]
    by_name = {r.name: r for r in roles}
    ordered = []
    for c in columns:
        if c == label:
            ordered.append(ColumnRole(c, _type(data[c]), "label"))
        elif c == time_column:
            ordered.append(ColumnRole(c, "timestamp", "time"))
        else:
            ordered.append(by_name[c])
    if not any(r.role in ("numeric", "categorical") for r in ordered):
        raise DeployError(
            f"{source} has no column to learn from besides the label: "
            + "; ".join(f"{r.name}: {r.why or r.role}" for r in ordered if r.role != "label")
        )
    profile = DataProfile(source, data.height, ordered, label, chosen, time_column)
    if chosen == "regression":
        std = values.cast(pl.Float64).std()
        return _with(profile, label_std=float(std) if isinstance(std, float) else 0.0)
    counts = values.value_counts().sort(label)
    total = float(values.len())
    return _with(
        profile,
        classes=[_plain(v) for v in counts[label].to_list()],
        class_shares=[n / total for n in counts["count"].to_list()],
    )


def _with(profile: DataProfile, **changes: Any) -> DataProfile:
    from dataclasses import replace

    return replace(profile, **changes)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _problem(values: pl.Series, label: str, problem: str | None) -> ProblemType:
    if problem is not None:
        try:
            chosen = check_problem(problem)
        except ValueError as exc:
            raise DeployError(f"--problem: {exc}") from None
        distinct = values.n_unique()
        if chosen == "binary" and distinct != 2:
            raise DeployError(
                f"--problem binary: the label {label!r} has {distinct} distinct values, not 2"
            )
        if chosen == "regression" and not values.dtype.is_numeric():
            raise DeployError(f"--problem regression: the label {label!r} is not a number")
        return chosen
    inferred = infer_problem(values)
    if inferred is None:
        raise DeployError(
            f"the label {label!r} has {values.n_unique()} distinct whole numbers: classes or "
            f"counts? Say which with --problem ({' or '.join(PROBLEM_TYPES[1:])})"
        )
    return inferred


def _type(column: pl.Series) -> str:
    import polars as pl

    dtype = column.dtype
    if dtype == pl.Boolean:
        return "bool"
    if dtype.is_integer():
        return "int64"
    if dtype.is_numeric():
        return "float64"
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return "timestamp"
    return "string"


def _role(column: pl.Series, rows: int) -> ColumnRole:
    import polars as pl

    name, kind = column.name, _type(column)
    distinct = column.n_unique()
    if kind == "timestamp":
        return ColumnRole(name, kind, "ignored", "another time column (one orders the rows)")
    if distinct == rows and rows > 1 and _ID_NAME.search(name) and kind in ("string", "int64"):
        return ColumnRole(name, kind, "id")
    if column.null_count() == rows:
        return ColumnRole(name, kind, "ignored", "always null")
    if distinct <= 1 or (distinct == 2 and column.null_count() > 0):
        return ColumnRole(name, kind, "ignored", "one value only")
    if kind in ("float64", "int64", "bool"):
        return ColumnRole(name, "bool" if column.dtype == pl.Boolean else "float64", "numeric")
    if distinct > _MAX_CATEGORIES or (distinct > 20 and distinct > _TEXT_SHARE * rows):
        return ColumnRole(name, kind, "ignored", f"free text or an identifier ({distinct} values)")
    return ColumnRole(name, "string", "categorical")
