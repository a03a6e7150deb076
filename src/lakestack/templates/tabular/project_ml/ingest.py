"""Ingest: the source file or table into `bronze` as it is, then typed and cleaned into `silver`.

The `ingest` job runs `bronze` then `silver`. The source is the `source` parameter: a CSV or
Parquet file, a Delta table's folder or URI, or a table of this lake (`schema.table`). A
relative path is relative to the project folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from lakestack.pipelines import TaskContext

from . import settings

_TYPES: dict[str, pl.DataType] = {
    "bool": pl.Boolean(),
    "float64": pl.Float64(),
    "int64": pl.Int64(),
    "string": pl.String(),
    "timestamp": pl.Datetime("us", "UTC"),
}


def read_source(ctx: TaskContext, source: str) -> pl.DataFrame:
    """The source's rows: a CSV, Parquet or Delta file or folder, or a table of the lake."""
    looks_like_table = "/" not in source and "\\" not in source and source.count(".") == 1
    if looks_like_table and not source.endswith((".csv", ".parquet")):
        return ctx.read_polars(source)
    path = Path(source).expanduser()
    if "://" not in source and not path.is_absolute():
        path = ctx.project.root / path
    location = source if "://" in source else str(path)
    if location.endswith(".csv"):
        return pl.read_csv(location, try_parse_dates=True, infer_schema_length=10_000)
    if location.endswith(".parquet"):
        return pl.read_parquet(location)
    return pl.read_delta(location)


def clean(raw: pl.DataFrame) -> pl.DataFrame:
    """The source's columns of `settings.SOURCE_COLUMNS`, each cast to its type.

    Strings are stripped and empty ones become null; timestamps without a time zone are
    taken as UTC; rows repeating an id (and time) keep their last occurrence.
    """
    missing = [c for c in settings.SOURCE_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(
            f"the source lacks the column(s) {', '.join(missing)} that settings.py names; "
            f"its columns: {', '.join(raw.columns)}"
        )
    columns = []
    for name, kind in settings.SOURCE_COLUMNS.items():
        column = pl.col(name)
        if kind == "string":
            column = column.cast(pl.String).str.strip_chars()
            column = pl.when(column == "").then(None).otherwise(column)
        elif kind == "timestamp":
            column = _timestamp(raw.schema[name], column)
        else:
            column = column.cast(_TYPES[kind], strict=False)
        columns.append(column.alias(name))
    data = raw.select(columns)
    keys = [*settings.ID_COLUMNS, *([settings.TIME_COLUMN] if settings.TIME_COLUMN else [])]
    if settings.ID_COLUMNS:
        data = data.unique(subset=keys, keep="last", maintain_order=True)
    if settings.TIME_COLUMN:
        data = data.sort(settings.TIME_COLUMN, nulls_last=True)
    return data


def _timestamp(dtype: pl.DataType, column: pl.Expr) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return column.dt.replace_time_zone("UTC").dt.cast_time_unit("us")
        return column.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    if isinstance(dtype, pl.Date):
        return column.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return column.cast(pl.String).str.to_datetime(time_zone="UTC", time_unit="us", strict=False)


def bronze(ctx: TaskContext) -> dict[str, Any]:
    """The source, as read, to the raw table (replacing what it held: a full load)."""
    raw = read_source(ctx, str(ctx.params["source"]))
    version = ctx.write_table(settings.RAW_TABLE, raw, mode="overwrite")
    ctx.logger.info(
        "%s v%s: %d rows from %s", settings.RAW_TABLE, version, raw.height, ctx.params["source"]
    )
    return {"version": version, "rows": raw.height}


def silver(ctx: TaskContext) -> dict[str, Any]:
    """The raw table typed and cleaned into the clean table; the labels into their table."""
    data = clean(ctx.read_polars(settings.RAW_TABLE, version=ctx.upstream["bronze"]["version"]))
    version = ctx.write_table(settings.CLEAN_TABLE, data, mode="overwrite")
    out: dict[str, Any] = {"version": version, "rows": data.height}
    if settings.ID_COLUMNS:
        time = [settings.TIME_COLUMN] if settings.TIME_COLUMN else []
        labels = data.select(*settings.ID_COLUMNS, *time, settings.LABEL).drop_nulls(settings.LABEL)
        out["labels_version"] = ctx.write_table(settings.LABELS_TABLE, labels, mode="overwrite")
    return out
