"""The example project's delay features: event time is the arrival, so nothing leaks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest

import lakestack.templates
from lakestack.features import FeatureLookup, FeatureStore

FLIGHTS_DIR = Path(lakestack.templates.__file__).parent / "flights"


@pytest.fixture
def features(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(FLIGHTS_DIR))
    from flights_ml import features as module

    return module


def utc(hour: int, minute: int = 0) -> datetime:
    return datetime(2013, 6, 1, hour, minute, tzinfo=UTC)


def test_a_delay_counts_only_once_the_flight_has_landed(
    features: ModuleType, store: FeatureStore
) -> None:
    # All to Chicago (UTC-5 in June). A leaves 10:00 UTC, lands 11:30 UTC = 06:30 local.
    flights = pl.DataFrame(
        {
            "flight_id": ["A", "B", "C"],
            "carrier": ["UA", "UA", "UA"],
            "origin": ["EWR", "EWR", "EWR"],
            "dest": ["ORD", "ORD", "ORD"],
            "sched_dep_ts": [utc(10), utc(11), utc(12)],
            "dep_delay": [0.0, 0.0, 0.0],
            "arr_time": [630, 730, 830],
            "air_time": [70.0, 70.0, 70.0],
            "arr_delay": [100.0, 0.0, 0.0],
        }
    )
    airports = pl.DataFrame({"faa": ["ORD"], "tzone": ["America/Chicago"]})
    observed = features.arrivals(flights, airports)
    assert observed.sort("flight_id").get_column("arrived").to_list() == [
        utc(11, 30),
        utc(12, 30),
        utc(13, 30),
    ]
    carrier = features.rolling_delays(observed, ["carrier"], "7d", "c")
    store.create_feature_table(
        "features.carrier", data=carrier, primary_keys=["carrier"], timestamp_key="as_of"
    )
    labels = flights.select("flight_id", "carrier", "sched_dep_ts")
    got = store.build_training_set(
        labels, [FeatureLookup("features.carrier", "carrier", timestamp_lookup_key="sched_dep_ts")]
    ).to_polars()
    # B leaves at 11:00, while A is still in the air: A's delay is not known yet.
    # C leaves at 12:00, after A landed (11:30) but before B lands (12:30): only A counts.
    assert got.get_column("c_flights").to_list() == [None, None, 1]
    assert got.get_column("c_mean_delay").to_list() == [None, None, 100.0]


def test_overnight_arrivals_land_the_next_day(features: ModuleType) -> None:
    flights = pl.DataFrame(
        {
            "flight_id": ["late"],
            "carrier": ["B6"],
            "origin": ["JFK"],
            "dest": ["LAX"],
            "sched_dep_ts": [utc(3, 30)],  # 23:30 in New York on May 31
            "dep_delay": [0.0],
            "arr_time": [215],  # 02:15 in Los Angeles on June 1 = 09:15 UTC
            "air_time": [330.0],
            "arr_delay": [0.0],
        }
    )
    airports = pl.DataFrame({"faa": ["LAX"], "tzone": ["America/Los_Angeles"]})
    [arrived] = features.arrivals(flights, airports).get_column("arrived").to_list()
    assert arrived == utc(3, 30) + timedelta(hours=5, minutes=45)
