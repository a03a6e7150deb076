"""`validate`: schema skew of new data against a baseline :class:`Schema`.

Checks return a :class:`ValidationReport`; nothing raises unless the caller asks for it with
:meth:`ValidationReport.raise_for_errors`. Every count is computed in one Polars pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import polars as pl

from lakestack.errors import DataValidationError
from lakestack.validation._data import TableLike, as_frame, logical_type, select_columns
from lakestack.validation._html import validation_page, written
from lakestack.validation._schema import ColumnSchema, LogicalType, Schema

__all__ = [
    "Anomaly",
    "AnomalyKind",
    "Severity",
    "ValidationOptions",
    "ValidationReport",
    "validate",
]

_EXAMPLES = 5


class Severity(StrEnum):
    """How bad a finding is: WARN lets a pipeline go on, FAIL should stop it."""

    WARN = "warn"
    FAIL = "fail"


class AnomalyKind(StrEnum):
    """What is wrong with a column."""

    MISSING_COLUMN = "missing_column"
    UNEXPECTED_COLUMN = "unexpected_column"
    TYPE_MISMATCH = "type_mismatch"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_CATEGORY = "unknown_category"
    NULL_RATE = "null_rate"


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One finding about one column.

    Attributes:
        column: the column.
        kind: what is wrong.
        severity: WARN or FAIL.
        message: one line naming the column, what was expected and what was found.
        expected: what the baseline says, in short.
        found: what the data has, in short.
        count: rows concerned, where that is a count.
        fraction: their share of the rows (of the non-missing values for value checks).
        threshold: the share above which the finding is a FAIL.
    """

    column: str
    kind: AnomalyKind
    severity: Severity
    message: str
    expected: str
    found: str
    count: int | None = None
    fraction: float | None = None
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class ValidationOptions:
    """Thresholds of :func:`validate`.

    A value check is a WARN above its ``*_warn`` share of rows and a FAIL above its ``*_fail``
    share. Any unknown category is worth a warning (a complete domain just grew), while a few
    values past the baseline's extremes are expected of any new sample of a continuous column.

    Attributes:
        range_tolerance: widen the baseline's [min, max] by this share of its width on each
            side before counting values outside it.
        out_of_range_warn: WARN when more than this share of values is outside the range.
        out_of_range_fail: FAIL when more than this share of values is outside the range.
        unknown_category_warn: WARN when more than this share of values is outside the domain.
        unknown_category_fail: FAIL when more than this share of values is outside the domain.
        null_rate_warn: WARN when the null fraction exceeds the baseline's by more than this
            (and whenever a column that had no nulls has some).
        null_rate_fail: FAIL when the null fraction exceeds the baseline's by more than this.
        unexpected_column_severity: severity of a column the baseline does not have; None
            to ignore such columns.
    """

    range_tolerance: float = 0.0
    out_of_range_warn: float = 0.001
    out_of_range_fail: float = 0.01
    unknown_category_warn: float = 0.0
    unknown_category_fail: float = 0.01
    null_rate_warn: float = 0.01
    null_rate_fail: float = 0.1
    unexpected_column_severity: Severity | None = Severity.WARN


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The anomalies found in a dataset.

    Attributes:
        anomalies: every finding, FAIL first, then by column.
        row_count: rows checked.
        columns_checked: the baseline columns that were checked.
        options: the thresholds used.
    """

    anomalies: tuple[Anomaly, ...]
    row_count: int
    columns_checked: tuple[str, ...]
    options: ValidationOptions

    @property
    def passed(self) -> bool:
        """True when no anomaly is a FAIL."""
        return not self.errors

    @property
    def errors(self) -> list[Anomaly]:
        """The FAIL anomalies."""
        return [a for a in self.anomalies if a.severity is Severity.FAIL]

    @property
    def warnings(self) -> list[Anomaly]:
        """The WARN anomalies."""
        return [a for a in self.anomalies if a.severity is Severity.WARN]

    def raise_for_errors(self) -> ValidationReport:
        """Raise if any anomaly is a FAIL; otherwise return the report (warnings and all).

        Raises:
            DataValidationError: listing every FAIL anomaly.
        """
        if self.errors:
            lines = "; ".join(a.message for a in self.errors)
            raise DataValidationError(
                f"data validation failed with {len(self.errors)} error(s): {lines}. Fix the "
                "data, or infer a new schema if the change is intended"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "passed": self.passed,
            "row_count": self.row_count,
            "columns_checked": list(self.columns_checked),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "options": {k: _plain(v) for k, v in asdict(self.options).items()},
            "anomalies": [{k: _plain(v) for k, v in asdict(a).items()} for a in self.anomalies],
        }

    def to_json(self, *, indent: int | None = None) -> str:
        """:meth:`to_dict` as JSON."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)

    def to_html(self, path: str | Path | None = None) -> str:
        """A self-contained HTML page; written to ``path`` if given."""
        return written(validation_page(self), path)


def validate(
    data: TableLike,
    schema: Schema,
    *,
    columns: Iterable[str] | None = None,
    options: ValidationOptions | None = None,
) -> ValidationReport:
    """Check data against a baseline schema: the data gate before training and scoring.

    Finds missing and unexpected columns, type changes (integer/float is a WARN, any other
    change a FAIL), numeric values outside the baseline's range, categorical values outside its
    domain (only when the stored domain is complete) and null rates above the baseline's.

    Args:
        data: the data to check, a ``pyarrow.Table`` or ``polars.DataFrame``.
        schema: the baseline schema from `infer_schema`.
        columns: check only these schema columns (unexpected columns are then not reported).
        options: thresholds; :class:`ValidationOptions` by default.

    Returns:
        The report; ``report.passed`` is False when an anomaly is a FAIL.

    Raises:
        DataValidationError: empty data or a requested column missing from the schema.

    Example:
        >>> import polars as pl
        >>> from lakestack.validation import infer_schema, validate
        >>> schema = infer_schema(pl.DataFrame({"x": [1, 2, 3]}))
        >>> validate(pl.DataFrame({"x": [1, 2, 30]}), schema).errors[0].kind
        <AnomalyKind.OUT_OF_RANGE: 'out_of_range'>
    """
    opts = options or ValidationOptions()
    frame = as_frame(data, what="the data to validate")
    names = select_columns(schema.names, columns, where="the schema")
    found: list[Anomaly] = []
    if columns is None and opts.unexpected_column_severity is not None:
        known = set(schema.names)
        for name in frame.columns:
            if name not in known:
                found.append(_unexpected(name, frame.schema[name], opts.unexpected_column_severity))
    checked: list[ColumnSchema] = []
    for name in names:
        col = schema.column(name)
        if name not in frame.columns:
            found.append(_missing(col))
            continue
        now = logical_type(frame.schema[name])
        if now != col.logical_type:
            mismatch = _type_mismatch(col, now, frame.schema[name])
            found.append(mismatch)
            if mismatch.severity is Severity.FAIL:
                continue
        checked.append(col)
    found += _value_anomalies(frame, checked, opts)
    found.sort(key=lambda a: (a.severity is not Severity.FAIL, a.column, a.kind))
    return ValidationReport(
        anomalies=tuple(found), row_count=frame.height, columns_checked=tuple(names), options=opts
    )


def _value_anomalies(
    frame: pl.DataFrame, columns: list[ColumnSchema], opts: ValidationOptions
) -> list[Anomaly]:
    # Aliases use the column's position: user column names may hold any character.
    exprs: list[pl.Expr] = []
    for i, col in enumerate(columns):
        c = pl.col(col.name)
        if col.logical_type.is_numeric:
            v = c.cast(pl.Float64)
            exprs.append((~v.is_finite()).fill_null(True).sum().alias(f"{i}:missing"))
            if col.numeric is not None:
                lo, hi = _bounds(col, opts)
                finite = v.filter(v.is_finite())
                outside = v.is_finite() & ((v < lo) | (v > hi))
                exprs += [
                    outside.sum().alias(f"{i}:outside"),
                    finite.min().alias(f"{i}:min"),
                    finite.max().alias(f"{i}:max"),
                ]
        else:
            exprs.append(c.is_null().sum().alias(f"{i}:missing"))
            if col.categorical is not None and col.categorical.complete:
                unknown = c.is_not_null() & ~c.cast(pl.String).is_in(list(col.categorical.values))
                exprs.append(unknown.sum().alias(f"{i}:unknown"))
    if not exprs:
        return []
    counts = frame.select(exprs).row(0, named=True)
    rows = frame.height
    found: list[Anomaly] = []
    for i, col in enumerate(columns):
        missing = int(counts[f"{i}:missing"])
        if (null_rate := _null_rate(col, missing, rows, opts)) is not None:
            found.append(null_rate)
        present = rows - missing
        n_outside = int(counts.get(f"{i}:outside") or 0)
        if n_outside and n_outside / present > opts.out_of_range_warn:
            low, high = counts[f"{i}:min"], counts[f"{i}:max"]
            found.append(_out_of_range(col, n_outside, present, low, high, opts))
        n_unknown = int(counts.get(f"{i}:unknown") or 0)
        if n_unknown and n_unknown / present > opts.unknown_category_warn:
            found.append(_unknown_category(frame, col, n_unknown, present, opts))
    return found


def _bounds(col: ColumnSchema, opts: ValidationOptions) -> tuple[float, float]:
    assert col.numeric is not None
    slack = opts.range_tolerance * (col.numeric.max - col.numeric.min)
    return col.numeric.min - slack, col.numeric.max + slack


def _missing(col: ColumnSchema) -> Anomaly:
    return Anomaly(
        column=col.name,
        kind=AnomalyKind.MISSING_COLUMN,
        severity=Severity.FAIL,
        message=f"column {col.name!r} ({col.logical_type}) is in the baseline but missing from "
        "the data; add it, or retrain without it",
        expected=f"present ({col.logical_type})",
        found="missing",
    )


def _unexpected(name: str, dtype: pl.DataType, severity: Severity) -> Anomaly:
    return Anomaly(
        column=name,
        kind=AnomalyKind.UNEXPECTED_COLUMN,
        severity=severity,
        message=f"column {name!r} ({dtype}) is not in the baseline schema; drop it, or infer "
        "the schema again if it is a new feature",
        expected="absent",
        found=f"present ({logical_type(dtype)})",
    )


def _type_mismatch(col: ColumnSchema, now: LogicalType, dtype: pl.DataType) -> Anomaly:
    # Integer <-> float is a widening most models accept; other changes break scoring.
    soft = col.logical_type.is_numeric and now.is_numeric
    return Anomaly(
        column=col.name,
        kind=AnomalyKind.TYPE_MISMATCH,
        severity=Severity.WARN if soft else Severity.FAIL,
        message=f"column {col.name!r} is {now} ({dtype}) but the baseline has "
        f"{col.logical_type} ({col.arrow_type}); cast it back, or retrain on the new type",
        expected=f"{col.logical_type} ({col.arrow_type})",
        found=f"{now} ({dtype})",
    )


def _null_rate(
    col: ColumnSchema, missing: int, rows: int, opts: ValidationOptions
) -> Anomaly | None:
    now, before = missing / rows, col.null_fraction
    rise = now - before
    if rise > opts.null_rate_fail:
        severity = Severity.FAIL
    elif rise > opts.null_rate_warn or (missing and not col.nullable):
        severity = Severity.WARN
    else:
        return None
    return Anomaly(
        column=col.name,
        kind=AnomalyKind.NULL_RATE,
        severity=severity,
        message=f"column {col.name!r} is missing in {now:.2%} of rows ({missing} of {rows}) "
        f"against {before:.2%} in the baseline; FAIL above +{opts.null_rate_fail:.2%}",
        expected=f"<= {before:.2%}",
        found=f"{now:.2%}",
        count=missing,
        fraction=now,
        threshold=before + opts.null_rate_fail,
    )


def _out_of_range(
    col: ColumnSchema,
    outside: int,
    present: int,
    low: float,
    high: float,
    opts: ValidationOptions,
) -> Anomaly:
    lo, hi = _bounds(col, opts)
    expected, found = f"[{lo:.6g}, {hi:.6g}]", f"[{low:.6g}, {high:.6g}]"
    return _outside(
        col,
        AnomalyKind.OUT_OF_RANGE,
        outside,
        present,
        opts.out_of_range_fail,
        baseline=f"range {expected}; found {found}",
        expected=expected,
        found=found,
    )


def _unknown_category(
    frame: pl.DataFrame, col: ColumnSchema, unknown: int, present: int, opts: ValidationOptions
) -> Anomaly:
    assert col.categorical is not None
    values = pl.col(col.name).cast(pl.String)
    examples = (
        frame.select(values.filter(~values.is_in(list(col.categorical.values))).unique().sort())
        .head(_EXAMPLES)
        .to_series()
        .to_list()
    )
    shown = ", ".join(repr(v) for v in examples)
    known = len(col.categorical.values)
    return _outside(
        col,
        AnomalyKind.UNKNOWN_CATEGORY,
        unknown,
        present,
        opts.unknown_category_fail,
        baseline=f"domain of {known} values, e.g. {shown}",
        expected=f"one of {known} known values",
        found=shown,
    )


def _outside(
    col: ColumnSchema,
    kind: AnomalyKind,
    outside: int,
    present: int,
    fail: float,
    *,
    baseline: str,
    expected: str,
    found: str,
) -> Anomaly:
    """`outside` of the `present` values of `col` fall outside its `baseline` range or domain:
    FAIL when their share is above `fail`, WARN up to it."""
    share = outside / present
    return Anomaly(
        column=col.name,
        kind=kind,
        severity=Severity.FAIL if share > fail else Severity.WARN,
        message=f"column {col.name!r} has {outside} of {present} values ({share:.2%}) outside "
        f"the baseline {baseline}; FAIL above {fail:.2%}",
        expected=expected,
        found=found,
        count=outside,
        fraction=share,
        threshold=fail,
    )


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, StrEnum) else value
