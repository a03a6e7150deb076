"""Drift rows of a window: against the baseline and against the previous window."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from lakestack.errors import DataValidationError
from lakestack.validation import compute_drift, infer_schema

if TYPE_CHECKING:
    from datetime import datetime

    import polars as pl

    from lakestack.validation import Schema

__all__ = ["DRIFT_COLUMNS", "window_drift"]

DRIFT_COLUMNS = (
    "method",
    "statistic",
    "p_value",
    "psi",
    "jensen_shannon",
    "ks_statistic",
    "ks_p_value",
    "drifted",
    "n_reference",
    "n_current",
)


def window_drift(
    start: datetime,
    current: pl.DataFrame,
    baseline: Schema | None,
    previous: pl.DataFrame | None,
    columns: list[str],
) -> list[dict[str, Any]]:
    """One row per column and reference (`baseline`, `previous`) of a window's drift.

    Uses `validation.compute_drift`; the previous window is profiled with `infer_schema` first.
    Columns a reference cannot compare (missing, all null, unsupported type) get no row.
    """
    rows: list[dict[str, Any]] = []
    if current.is_empty():
        return rows
    references: list[tuple[str, Schema]] = []
    if baseline is not None:
        references.append(("baseline", baseline))
    if previous is not None and not previous.is_empty():
        with contextlib.suppress(DataValidationError):
            references.append(("previous", infer_schema(previous, columns=columns)))
    for name, schema in references:
        known = [c for c in columns if c in schema.names]
        if not known:
            continue
        report = compute_drift(current, schema, columns=known)
        for col in report.columns:
            row = {"window_start": start, "reference": name, "column": col.column}
            row.update({key: getattr(col, key) for key in DRIFT_COLUMNS})
            row["method"] = str(col.method)
            rows.append(row)
    return rows
