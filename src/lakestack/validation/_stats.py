"""`infer_schema`: learn a :class:`Schema` (types and statistics) from baseline data."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import polars as pl

from lakestack.errors import DataValidationError
from lakestack.validation._data import (
    FloatArray,
    TableLike,
    arrow_types,
    as_frame,
    finite_values,
    logical_type,
    select_columns,
)
from lakestack.validation._schema import (
    PERCENTILE_LEVELS,
    CategoricalStats,
    ColumnSchema,
    Histogram,
    LogicalType,
    NumericStats,
    Schema,
    TemporalStats,
)

__all__ = ["DISCRETE_MAX_VALUES", "infer_schema", "map_columns"]

#: A numeric column with at most this many distinct values gets one histogram bin per value.
DISCRETE_MAX_VALUES = 20
# Below this many rows a thread pool costs more than it saves.
_PARALLEL_MIN_ROWS = 50_000

T = TypeVar("T")
R = TypeVar("R")


def infer_schema(
    data: TableLike,
    *,
    columns: Iterable[str] | None = None,
    bins: int = 10,
    max_domain: int = 100,
) -> Schema:
    """Learn the schema and statistics of baseline (training) data.

    Numeric columns get min, max, mean, std, percentiles 0..100 and a histogram with ``bins``
    quantile-based bins (one bin per value when there are at most 20 distinct values);
    categorical and boolean columns get their domain (the ``max_domain`` most frequent values
    and an "other" count); timestamps and dates get their range. NaN and ±inf count as missing.

    Args:
        data: the baseline, a ``pyarrow.Table`` or ``polars.DataFrame``.
        columns: the columns to describe; all when None.
        bins: number of quantile bins of numeric histograms (2 to 100).
        max_domain: most values kept per categorical column; the rest is counted as "other".

    Returns:
        The schema, small enough to store with a model version (a few KB per column).

    Raises:
        DataValidationError: empty data, an unknown column, or a bad ``bins``/``max_domain``.

    Example:
        >>> import polars as pl
        >>> schema = infer_schema(pl.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]}))
        >>> schema.column("c").categorical.values
        ('a', 'b')
    """
    if not 2 <= bins <= 100:
        raise DataValidationError(f"bins must be between 2 and 100, got {bins}")
    if max_domain < 1:
        raise DataValidationError(f"max_domain must be at least 1, got {max_domain}")
    frame = as_frame(data, what="the baseline data")
    names = select_columns(frame.columns, columns, where="the baseline data")
    types = arrow_types(data, frame)

    def describe(name: str) -> ColumnSchema:
        return _describe(frame.get_column(name), types[name], bins, max_domain)

    described = map_columns(describe, names, rows=frame.height)
    return Schema(columns=tuple(described), row_count=frame.height)


def map_columns(fn: Callable[[T], R], items: Sequence[T], *, rows: int) -> list[R]:
    """``[fn(i) for i in items]``, on a thread per core when the data is large.

    Sorting, binning and Polars kernels release the GIL, so columns run truly in parallel.
    """
    workers = min(len(items), os.cpu_count() or 1)
    if workers < 2 or rows < _PARALLEL_MIN_ROWS:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lakestack-stats") as pool:
        return list(pool.map(fn, items))


def _describe(series: pl.Series, arrow_type: str, bins: int, max_domain: int) -> ColumnSchema:
    kind = logical_type(series.dtype)
    rows = series.len()
    if kind.is_numeric:
        values = finite_values(series)
        numeric = _numeric_stats(np.sort(values), bins) if values.size else None
        return ColumnSchema(
            name=series.name,
            logical_type=kind,
            arrow_type=arrow_type,
            count=int(values.size),
            null_count=rows - int(values.size),
            numeric=numeric,
        )
    nulls = series.null_count()
    categorical = temporal = None
    if kind.is_categorical and nulls < rows:
        categorical = _categorical_stats(series, max_domain)
    elif kind in (LogicalType.TIMESTAMP, LogicalType.DATE) and nulls < rows:
        low, high = series.min(), series.max()
        temporal = TemporalStats(min=_iso(low), max=_iso(high))
    return ColumnSchema(
        name=series.name,
        logical_type=kind,
        arrow_type=arrow_type,
        count=rows - nulls,
        null_count=nulls,
        categorical=categorical,
        temporal=temporal,
    )


def _numeric_stats(ordered: FloatArray, bins: int) -> NumericStats:
    """Statistics of sorted, finite, non-empty values."""
    n = ordered.size
    # Positions where a new distinct value starts; the array is sorted, so one pass suffices.
    starts = np.concatenate(([0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1))
    if starts.size <= DISCRETE_MAX_VALUES:
        values = ordered[starts]
        counts = np.diff(np.concatenate((starts, [n])))
        edges = np.concatenate((values, values[-1:]))
        discrete = True
    else:
        edges = np.unique(np.quantile(ordered, np.linspace(0.0, 1.0, bins + 1)))
        below = np.searchsorted(ordered, edges[1:-1], side="left")
        counts = np.diff(np.concatenate(([0], below, [n])))
        discrete = False
    mean, std = _moments(ordered)
    return NumericStats(
        min=float(ordered[0]),
        max=float(ordered[-1]),
        mean=mean,
        std=std,
        distinct=int(starts.size),
        percentiles=tuple(float(v) for v in np.quantile(ordered, PERCENTILE_LEVELS)),
        histogram=Histogram(
            edges=tuple(float(v) for v in edges),
            counts=tuple(int(c) for c in counts),
            discrete=discrete,
        ),
    )


def _moments(ordered: FloatArray) -> tuple[float, float]:
    scale = max(abs(float(ordered[0])), abs(float(ordered[-1])))
    if scale > 1e150:
        # Sums and squares of values this large overflow float64; scaled, they do not.
        scaled = ordered / scale
        return float(np.mean(scaled)) * scale, float(np.std(scaled)) * scale
    return float(np.mean(ordered)), float(np.std(ordered))


def _categorical_stats(series: pl.Series, max_domain: int) -> CategoricalStats:
    counted = (
        series.cast(pl.String)
        .drop_nulls()
        .alias("value")
        .value_counts(name="count")
        .sort(["count", "value"], descending=[True, False])
    )
    top = counted.head(max_domain)
    kept = [int(c) for c in top.get_column("count").to_list()]
    total = int(counted.get_column("count").sum())
    return CategoricalStats(
        distinct=counted.height,
        values=tuple(str(v) for v in top.get_column("value").to_list()),
        counts=tuple(kept),
        other_count=total - sum(kept),
    )


def _iso(value: object) -> str:
    isoformat = getattr(value, "isoformat", None)
    if isoformat is None:
        raise DataValidationError(f"cannot describe temporal value {value!r}")
    return str(isoformat())
