"""Conversions between the data shapes users pass (Arrow, Polars, pandas, mappings)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakestack.errors import FeatureError
from lakestack.lake import delta_type
from lakestack.lake import to_arrow as lake_to_arrow

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

__all__ = ["delta_type", "to_arrow", "to_polars"]


def to_arrow(data: Any, what: str = "data") -> pa.Table:
    """An Arrow table from a pyarrow Table, a Polars or pandas DataFrame, or a column mapping."""
    return lake_to_arrow(data, what, FeatureError)


def to_polars(data: Any, what: str = "data") -> pl.DataFrame:
    """A Polars DataFrame from anything `to_arrow` accepts (Polars frames pass through)."""
    import polars as pl

    if isinstance(data, pl.DataFrame):
        return data
    frame = pl.from_arrow(to_arrow(data, what))
    assert isinstance(frame, pl.DataFrame)
    return frame
