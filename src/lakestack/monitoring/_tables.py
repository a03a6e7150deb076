"""The names of a monitor's metric tables, and reading a table that may not exist yet."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

    from lakestack.lake import Lake

__all__ = ["ALERTS_TABLE", "metric_tables", "read_or_none"]

ALERTS_TABLE = "monitoring.alerts"
KINDS = ("profile", "drift", "quality", "state")


def metric_tables(monitor: str) -> dict[str, str]:
    """`{"profile": "monitoring.<name>_profile", "drift": ..., "quality": ..., "state": ...}`."""
    base = re.sub(r"[^a-z0-9_]", "_", monitor.lower())
    return {kind: f"monitoring.{base}_{kind}" for kind in KINDS}


def read_or_none(lake: Lake, table: str) -> pl.DataFrame | None:
    """The whole table as Polars, or None when it does not exist."""
    if not lake.exists(table):
        return None
    return lake.read_polars(table)
