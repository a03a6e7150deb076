"""`compute_drift`: per-column drift of current data against a stored :class:`Schema`.

The baseline is never read again: numeric columns are binned on the baseline's histogram edges
and compared with its percentiles; categorical columns are counted on its domain. Each column
costs one sort (numeric) or one ``value_counts`` (categorical) of the current data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from lakestack.errors import DataValidationError
from lakestack.validation._bins import category_counts, ks_statistic, numeric_counts
from lakestack.validation._data import TableLike, as_frame, finite_values, logical_type
from lakestack.validation._html import drift_page, written
from lakestack.validation._metrics import chi_square, jensen_shannon, ks_p_value, psi
from lakestack.validation._schema import ColumnSchema, Schema
from lakestack.validation._stats import map_columns

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ColumnDrift", "DriftMethod", "DriftReport", "DriftThresholds", "compute_drift"]


class DriftMethod(StrEnum):
    """A drift measure; PSI and Jensen-Shannon are distances, KS and chi-square are tests."""

    PSI = "psi"
    JENSEN_SHANNON = "jensen_shannon"
    KS = "ks"
    CHI_SQUARE = "chi_square"


@dataclass(frozen=True, slots=True)
class DriftThresholds:
    """When a column counts as drifted.

    All measures are always computed; one of them, the column's *method*, decides. By default
    (method None) a small window (fewer than ``small_sample_rows`` rows) is judged by a test
    (KS for numeric, chi-square for categorical columns) and a larger one by PSI, because on
    large samples the tests flag shifts too small to matter.

    Attributes:
        psi: drifted when PSI is above this.
        jensen_shannon: drifted when the Jensen-Shannon distance (base 2) is above this.
        p_value: drifted when a test's p-value is below this.
        numeric_method: the deciding method of numeric columns; None for the default.
        categorical_method: the deciding method of categorical and boolean columns.
        small_sample_rows: below this many current rows the default method is a test.
    """

    psi: float = 0.2
    jensen_shannon: float = 0.1
    p_value: float = 0.05
    numeric_method: DriftMethod | None = None
    categorical_method: DriftMethod | None = None
    small_sample_rows: int = 1000

    def __post_init__(self) -> None:
        if self.numeric_method is DriftMethod.CHI_SQUARE:
            raise DataValidationError("numeric_method cannot be chi_square; use ks, psi or js")
        if self.categorical_method is DriftMethod.KS:
            raise DataValidationError(
                "categorical_method cannot be ks; use chi_square, psi or jensen_shannon"
            )

    def method_for(self, numeric: bool, rows: int) -> DriftMethod:
        """The deciding method for a numeric or categorical column of ``rows`` current rows."""
        chosen = self.numeric_method if numeric else self.categorical_method
        if chosen is not None:
            return chosen
        if rows < self.small_sample_rows:
            return DriftMethod.KS if numeric else DriftMethod.CHI_SQUARE
        return DriftMethod.PSI

    def threshold(self, method: DriftMethod) -> float:
        """The threshold ``method`` is compared with."""
        if method is DriftMethod.PSI:
            return self.psi
        if method is DriftMethod.JENSEN_SHANNON:
            return self.jensen_shannon
        return self.p_value


@dataclass(frozen=True, slots=True)
class ColumnDrift:
    """Drift of one column.

    Attributes:
        column: column name.
        logical_type: the column's type in the baseline.
        method: the method that decided ``drifted``.
        statistic: that method's value (PSI, distance, or the test statistic).
        p_value: that method's p-value, None for PSI and Jensen-Shannon.
        threshold: what ``statistic`` (distances) or ``p_value`` (tests) was compared with.
        drifted: whether the column drifted.
        psi: population stability index on the baseline's bins.
        jensen_shannon: Jensen-Shannon distance (base 2) on the same bins.
        ks_statistic: KS statistic against the baseline's stored ECDF (numeric only).
        ks_p_value: its asymptotic p-value.
        chi2_statistic: chi-square statistic of homogeneity (categorical only).
        chi2_p_value: its p-value.
        n_reference: non-missing values in the baseline.
        n_current: non-missing values in the current data.
        bins: bin labels (ranges or category values).
        reference: the baseline's share per bin.
        current: the current data's share per bin.
    """

    column: str
    logical_type: str
    method: DriftMethod
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    psi: float
    jensen_shannon: float
    ks_statistic: float | None
    ks_p_value: float | None
    chi2_statistic: float | None
    chi2_p_value: float | None
    n_reference: int
    n_current: int
    bins: tuple[str, ...] = field(repr=False)
    reference: tuple[float, ...] = field(repr=False)
    current: tuple[float, ...] = field(repr=False)


# The table form of a report; built with Polars because pyarrow's list constructors import
# pandas on first use (seconds on a cold start).
_TABLE_SCHEMA: dict[str, type[pl.DataType]] = {
    "column": pl.String,
    "logical_type": pl.String,
    "method": pl.String,
    "statistic": pl.Float64,
    "p_value": pl.Float64,
    "threshold": pl.Float64,
    "drifted": pl.Boolean,
    "psi": pl.Float64,
    "jensen_shannon": pl.Float64,
    "ks_statistic": pl.Float64,
    "ks_p_value": pl.Float64,
    "chi2_statistic": pl.Float64,
    "chi2_p_value": pl.Float64,
    "n_reference": pl.Int64,
    "n_current": pl.Int64,
}


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Drift of every compared column, one row each.

    Attributes:
        columns: one entry per compared column.
        skipped: columns not compared, with the reason.
        thresholds: the thresholds used.
        row_count: rows in the current data.
    """

    columns: tuple[ColumnDrift, ...]
    skipped: dict[str, str]
    thresholds: DriftThresholds
    row_count: int

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the drifted columns."""
        return [c.column for c in self.columns if c.drifted]

    @property
    def share_drifted(self) -> float:
        """Share of the compared columns that drifted."""
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0

    def column(self, name: str) -> ColumnDrift:
        """The drift of column ``name``.

        Raises:
            DataValidationError: the column was not compared.
        """
        for col in self.columns:
            if col.column == name:
                return col
        reason = self.skipped.get(name, "it is not in the schema")
        raise DataValidationError(f"column {name!r} has no drift result: {reason}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary with every statistic and the per-bin shares."""
        columns = [
            _row(c)
            | {"bins": list(c.bins), "reference": list(c.reference), "current": list(c.current)}
            for c in self.columns
        ]
        return {
            "row_count": self.row_count,
            "drifted_columns": self.drifted_columns,
            "share_drifted": self.share_drifted,
            "thresholds": {k: _plain(v) for k, v in asdict(self.thresholds).items()},
            "columns": columns,
            "skipped": dict(self.skipped),
        }

    def to_json(self, *, indent: int | None = None) -> str:
        """:meth:`to_dict` as JSON."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)

    def to_polars(self) -> pl.DataFrame:
        """One row per column with the scalar statistics, for a monitoring table."""
        return pl.DataFrame([_row(c) for c in self.columns], schema=_TABLE_SCHEMA)

    def to_arrow(self) -> pa.Table:
        """:meth:`to_polars` as an Arrow table."""
        return self.to_polars().to_arrow()

    def to_html(self, path: str | Path | None = None) -> str:
        """A self-contained HTML page (inline SVG, no scripts); written to ``path`` if given."""
        return written(drift_page(self), path)


def compute_drift(
    current: TableLike,
    baseline_schema: Schema,
    *,
    columns: Iterable[str] | None = None,
    thresholds: DriftThresholds | None = None,
) -> DriftReport:
    """Measure each column's drift from the baseline's stored statistics.

    Numeric columns get PSI and Jensen-Shannon on the baseline's histogram bins and a KS test
    against its stored ECDF (percentiles); categorical and boolean columns get PSI,
    Jensen-Shannon and a chi-square test on its domain (values outside it form an "(other)"
    bin). Columns of other types, missing from ``current`` or of a changed type are skipped
    with a reason (`validate` reports those as anomalies).

    Args:
        current: the data to check, a ``pyarrow.Table`` or ``polars.DataFrame``.
        baseline_schema: the schema inferred from the baseline with `infer_schema`.
        columns: the columns to compare; by default every column of the schema.
        thresholds: when a column counts as drifted; :class:`DriftThresholds` by default.

    Returns:
        A report with one row per compared column.

    Raises:
        DataValidationError: empty data, or a requested column missing from the schema or data.

    Example:
        >>> import polars as pl
        >>> from lakestack.validation import compute_drift, infer_schema
        >>> baseline = infer_schema(pl.DataFrame({"x": [float(i) for i in range(100)]}))
        >>> current = pl.DataFrame({"x": [float(i) + 50 for i in range(100)]})
        >>> compute_drift(current, baseline).drifted_columns
        ['x']
    """
    limits = thresholds or DriftThresholds()
    frame = as_frame(current, what="the current data")
    skipped: dict[str, str] = {}
    targets: list[ColumnSchema] = []
    if columns is None:
        for col in baseline_schema.columns:
            if col.name not in frame.columns:
                skipped[col.name] = "missing from the current data"
            elif col.numeric is None and col.categorical is None:
                skipped[col.name] = _no_stats_reason(col)
            else:
                targets.append(col)
    else:
        for name in dict.fromkeys([columns] if isinstance(columns, str) else columns):
            col = baseline_schema.column(name)
            if name not in frame.columns:
                raise DataValidationError(
                    f"column {name!r} is not in the current data; its columns are "
                    f"{frame.columns}; drop it from `columns` or fix the query"
                )
            if col.numeric is None and col.categorical is None:
                skipped[name] = _no_stats_reason(col)
            else:
                targets.append(col)

    def measure(col: ColumnSchema) -> ColumnDrift | str:
        return _column_drift(frame.get_column(col.name), col, limits)

    results = map_columns(measure, targets, rows=frame.height)
    compared = []
    for col, result in zip(targets, results, strict=True):
        if isinstance(result, str):
            skipped[col.name] = result
        else:
            compared.append(result)
    return DriftReport(
        columns=tuple(compared), skipped=skipped, thresholds=limits, row_count=frame.height
    )


def _column_drift(
    series: pl.Series, col: ColumnSchema, limits: DriftThresholds
) -> ColumnDrift | str:
    now = logical_type(series.dtype)
    numeric = col.numeric is not None
    if (numeric and not now.is_numeric) or (not numeric and not now.is_categorical):
        return f"type changed from {col.logical_type} to {now}"
    ks = chi = None
    if col.numeric is not None:
        values = np.sort(finite_values(series))
        if values.size == 0:
            return "no values in the current data"
        cur, ref, labels = numeric_counts(values, col.numeric)
        d = ks_statistic(values, col.numeric)
        ks = (d, ks_p_value(d, col.count, values.size))
    else:
        assert col.categorical is not None
        cur, ref, labels = category_counts(series, col.categorical)
        if cur.sum() == 0:
            return "no values in the current data"
        result = chi_square(ref, cur)
        chi = (result.statistic, result.p_value)
    n = int(cur.sum())
    psi_value = psi(ref, cur)
    js_value = jensen_shannon(ref, cur)
    method = limits.method_for(numeric, n)
    threshold = limits.threshold(method)
    statistic: float
    p_value: float | None = None
    if method is DriftMethod.PSI:
        statistic = psi_value
        drifted = statistic > threshold
    elif method is DriftMethod.JENSEN_SHANNON:
        statistic = js_value
        drifted = statistic > threshold
    else:
        test = ks if method is DriftMethod.KS else chi
        assert test is not None
        statistic, p_value = test
        drifted = p_value < threshold
    return ColumnDrift(
        column=col.name,
        logical_type=str(col.logical_type),
        method=method,
        statistic=statistic,
        p_value=p_value,
        threshold=threshold,
        drifted=bool(drifted),
        psi=psi_value,
        jensen_shannon=js_value,
        ks_statistic=ks[0] if ks else None,
        ks_p_value=ks[1] if ks else None,
        chi2_statistic=chi[0] if chi else None,
        chi2_p_value=chi[1] if chi else None,
        n_reference=col.count,
        n_current=n,
        bins=labels,
        reference=tuple(float(v) for v in ref / ref.sum()),
        current=tuple(float(v) for v in cur / n),
    )


def _no_stats_reason(col: ColumnSchema) -> str:
    if col.count == 0:
        return "no values in the baseline"
    return f"no drift measure for {col.logical_type} columns"


def _row(col: ColumnDrift) -> dict[str, Any]:
    return {name: _plain(getattr(col, name)) for name in _TABLE_SCHEMA}


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, StrEnum) else value
