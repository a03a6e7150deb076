"""Turning the caller's table into Polars columns and NumPy arrays, with clear errors."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, TypeAlias, TypeGuard

import numpy as np
import numpy.typing as npt
import polars as pl

from lakestack.errors import DataValidationError
from lakestack.validation._schema import LogicalType

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "TableLike",
    "arrow_types",
    "as_frame",
    "finite_values",
    "logical_type",
    "select_columns",
]

#: What the checks accept: an Arrow table or a Polars data frame. pyarrow is not imported here:
#: Polars-only callers (a monitoring window read with Polars) never pay for its import.
TableLike: TypeAlias = "pa.Table | pa.RecordBatch | pl.DataFrame"

FloatArray: TypeAlias = npt.NDArray[np.float64]


def as_frame(data: object, *, what: str) -> pl.DataFrame:
    """The data as a non-empty Polars frame (zero-copy from Arrow where Polars can).

    Args:
        data: a ``pyarrow.Table``, ``pyarrow.RecordBatch`` or ``polars.DataFrame``.
        what: how to call the data in an error message ("the current data").

    Raises:
        DataValidationError: another type, no columns or no rows.
    """
    if isinstance(data, pl.DataFrame):
        frame = data
    elif _is_arrow(data):
        converted = pl.from_arrow(data)
        assert isinstance(converted, pl.DataFrame)
        frame = converted
    else:
        raise DataValidationError(
            f"{what} must be a pyarrow.Table or a polars.DataFrame, got "
            f"{type(data).__module__}.{type(data).__name__}; convert it first, for example "
            "with polars.from_pandas(df)"
        )
    if frame.width == 0:
        raise DataValidationError(f"{what} has no columns; pass the table with its columns")
    if frame.height == 0:
        raise DataValidationError(
            f"{what} has no rows (columns {frame.columns[:10]}); check the filter or the "
            "table version that produced it"
        )
    return frame


def arrow_types(data: object, frame: pl.DataFrame) -> dict[str, str]:
    """The Arrow type of each column as Arrow prints it, taken from the caller's own schema."""
    schema = data.schema if _is_arrow(data) else frame.head(0).to_arrow().schema
    return {field.name: str(field.type) for field in schema}


def _is_arrow(data: object) -> TypeGuard[pa.Table | pa.RecordBatch]:
    # An Arrow object can only exist if its caller already imported pyarrow.
    pa = sys.modules.get("pyarrow")
    return pa is not None and isinstance(data, pa.Table | pa.RecordBatch)


def logical_type(dtype: pl.DataType) -> LogicalType:
    """The logical type of a Polars dtype."""
    if dtype.is_integer():
        return LogicalType.INTEGER
    if dtype.is_float() or dtype.is_decimal():
        return LogicalType.FLOAT
    if dtype == pl.Boolean:
        return LogicalType.BOOLEAN
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return LogicalType.CATEGORICAL
    if isinstance(dtype, pl.Datetime):
        return LogicalType.TIMESTAMP
    if dtype == pl.Date:
        return LogicalType.DATE
    return LogicalType.OTHER


def select_columns(
    available: Sequence[str], columns: Iterable[str] | None, *, where: str
) -> list[str]:
    """The requested columns, checked against ``available``; all of them when None.

    Raises:
        DataValidationError: a requested column is not available.
    """
    if columns is None:
        return list(available)
    if isinstance(columns, str):
        columns = [columns]
    chosen = list(dict.fromkeys(columns))
    known = set(available)
    for name in chosen:
        if name not in known:
            raise DataValidationError(
                f"column {name!r} is not in {where}; its columns are {list(available)}; "
                "pass only those in `columns`"
            )
    return chosen


def finite_values(series: pl.Series) -> FloatArray:
    """The finite values of a numeric column as float64 (nulls, NaN and ±inf dropped)."""
    values = series.cast(pl.Float64).to_numpy()
    finite = np.isfinite(values)
    if not finite.all():
        values = values[finite]
    return np.asarray(values, dtype=np.float64)
