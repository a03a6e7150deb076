"""The names of a monitor's metric tables, and reading a table that may not exist yet.

The tables themselves (columns, types, keys) are declared in `lakestack.system_tables`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakestack.system_tables import (
    ALERTS,
    MONITOR_DRIFT,
    MONITOR_PROFILE,
    MONITOR_QUALITY,
    MONITOR_STATE,
)

if TYPE_CHECKING:
    import polars as pl

    from lakestack.lake import Lake

__all__ = ["ALERTS_TABLE", "metric_tables", "read_or_none"]

ALERTS_TABLE = ALERTS.name
_METRIC_TABLES = {
    "profile": MONITOR_PROFILE,
    "drift": MONITOR_DRIFT,
    "quality": MONITOR_QUALITY,
    "state": MONITOR_STATE,
}


def metric_tables(monitor: str) -> dict[str, str]:
    """`{"profile": "monitoring.<name>_profile", "drift": ..., "quality": ..., "state": ...}`."""
    return {kind: spec.table(monitor=monitor) for kind, spec in _METRIC_TABLES.items()}


def read_or_none(lake: Lake, table: str) -> pl.DataFrame | None:
    """The whole table as Polars, or None when it does not exist."""
    if not lake.exists(table):
        return None
    return lake.read_polars(table)
