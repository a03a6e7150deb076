"""Publishing as of a moment (replaying history) and lookups judged at each row's own time,
on the SQLite and Redis online stores."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from lakestack.errors import FeatureError
from lakestack.features import FeatureLookup, FeatureSpec, FeatureStore, PublishState

T0 = datetime(2013, 7, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def hourly(keys: int = 4, hours: int = 6) -> pl.DataFrame:
    """Key k has a row every hour from T0 except when (hour + k) % 3 == 0; v = 100 * k + hour."""
    rows = [
        {"k": k, "ts": T0 + h * HOUR, "v": float(100 * k + h)}
        for h in range(hours)
        for k in range(keys)
        if (h + k) % 3
    ]
    return pl.DataFrame(
        rows, schema={"k": pl.Int64, "ts": pl.Datetime("us", "UTC"), "v": pl.Float64}
    )


def online_values(store: FeatureStore, keys: list[int]) -> list[tuple[object, object]]:
    got = store.lookup("features.h", keys)
    return list(zip(got.column("ts").to_pylist(), got.column("v").to_pylist(), strict=True))


def expected_at(
    frame: pl.DataFrame, moment: datetime, keys: list[int]
) -> list[tuple[object, object]]:
    seen = frame.filter(pl.col("ts") <= moment).sort("ts").group_by("k").last()
    rows = {r["k"]: (r["ts"], r["v"]) for r in seen.to_dicts()}
    return [rows.get(k, (None, None)) for k in keys]


def test_as_of_publish_writes_only_rows_at_or_before_the_moment(online_store: FeatureStore) -> None:
    frame = hourly()
    online_store.create_feature_table(
        "features.h", data=frame, primary_keys=["k"], timestamp_key="ts"
    )
    keys = [0, 1, 2, 3]
    first = online_store.publish("features.h", as_of=T0)  # keys 0 and 3 have no row at T0
    assert (first.keys_written, first.keys_total, first.full, first.as_of) == (2, 2, True, T0)
    assert online_values(online_store, keys) == expected_at(frame, T0, keys)
    assert online_values(online_store, [0, 3]) == [(None, None)] * 2
    state = online_store.online.state("features.h")
    assert state is not None and state.as_of == T0 and state.rows == 2
    assert online_store.check("features.h").passed  # judged against the rows as of T0
    # a naive moment is UTC; an aware one in another zone is the same instant
    later = online_store.publish("features.h", as_of=datetime(2013, 7, 1, 2))
    assert later.as_of == T0 + 2 * HOUR
    assert online_values(online_store, keys) == expected_at(frame, T0 + 2 * HOUR, keys)
    eastern = timezone(timedelta(hours=-4))
    same = online_store.publish("features.h", as_of=datetime(2013, 6, 30, 22, tzinfo=eastern))
    assert (same.keys_written, same.full, same.keys_total) == (0, False, 4)


def test_incremental_as_of_publish_writes_changed_keys_and_equals_a_full_one(
    online_store: FeatureStore,
) -> None:
    frame = hourly(keys=30, hours=48)
    online_store.create_feature_table(
        "features.h", data=frame, primary_keys=["k"], timestamp_key="ts"
    )
    keys = list(range(31))
    online_store.publish("features.h", as_of=T0)
    for hour in range(1, 48, 5):
        moment = T0 + hour * HOUR
        step = online_store.publish("features.h", as_of=moment)
        before = T0 + (hour - 5 if hour > 1 else 0) * HOUR
        changed = frame.filter((pl.col("ts") > before) & (pl.col("ts") <= moment))
        assert step.full is False
        assert step.keys_written == changed["k"].n_unique()
        assert step.keys_total == frame.filter(pl.col("ts") <= moment)["k"].n_unique()
        incremental = online_values(online_store, keys)
        assert incremental == expected_at(frame, moment, keys)
        state = online_store.online.state("features.h")
        assert state is not None and state.rows == step.keys_total
    # the same moment published in full holds the same rows
    full = online_store.publish("features.h", as_of=T0 + 46 * HOUR, full=True)
    assert full.full and online_values(online_store, keys) == incremental
    assert online_store.check("features.h", sample=100).passed


def test_what_replaces_an_as_of_publish_whole(online_store: FeatureStore) -> None:
    frame = hourly()
    online_store.create_feature_table(
        "features.h", data=frame, primary_keys=["k"], timestamp_key="ts"
    )
    keys = [0, 1, 2, 3]
    online_store.publish("features.h", as_of=T0 + 3 * HOUR)
    earlier = online_store.publish("features.h", as_of=T0 + HOUR)  # back in time
    assert earlier.full and online_values(online_store, keys) == expected_at(frame, T0 + HOUR, keys)
    online_store.write("features.h", {"k": [9], "ts": [T0], "v": [9.0]})  # a new version
    newer = online_store.publish("features.h", as_of=T0 + 2 * HOUR)
    assert newer.full and newer.keys_total == 5
    latest = online_store.publish("features.h")  # no as_of: the latest rows, whole
    assert latest.full and latest.as_of is None
    assert online_values(online_store, keys) == expected_at(frame, T0 + 9 * HOUR, keys)
    state = online_store.online.state("features.h")
    assert state is not None and state.as_of is None
    assert online_store.publish("features.h").keys_written == 0  # incremental as before


def test_as_of_needs_an_event_time(online_store: FeatureStore) -> None:
    online_store.create_feature_table(
        "features.static", data={"k": [1], "v": [1.0]}, primary_keys=["k"]
    )
    with pytest.raises(FeatureError, match=r"features\.static has no event time"):
        online_store.publish("features.static", as_of=T0)


def test_naive_and_date_event_times(store: FeatureStore) -> None:
    naive = [datetime(2013, 7, 1, h) for h in range(4)]
    store.create_feature_table(
        "features.naive",
        data=pa.table(
            {"k": [1, 1, 2, 2], "ts": pa.array(naive, pa.timestamp("us")), "v": [1, 2, 3, 4]}
        ),
        primary_keys=["k"],
        timestamp_key="ts",
    )
    schema = store.get_feature_table("features.naive").schema
    assert schema is not None and schema.field("ts").type.tz is None  # stored naive
    store.publish("features.naive", as_of=T0 + HOUR)
    assert store.lookup("features.naive", [1, 2]).column("v").to_pylist() == [2, None]
    eastern = timezone(timedelta(hours=-4))
    store.publish("features.naive", as_of=datetime(2013, 6, 30, 23, tzinfo=eastern))  # 03:00Z
    assert store.lookup("features.naive", [1, 2]).column("v").to_pylist() == [2, 4]
    store.create_feature_table(
        "features.daily",
        data={"k": [1, 1], "day": [date(2013, 7, 1), date(2013, 7, 2)], "v": [1, 2]},
        primary_keys=["k"],
        timestamp_key="day",
    )
    store.publish("features.daily", as_of=T0 + 5 * HOUR)
    assert store.lookup("features.daily", [1]).column("v").to_pylist() == [1]
    step = store.publish("features.daily", as_of=T0 + 30 * HOUR)
    assert (step.full, step.keys_written) == (False, 1)
    assert store.lookup("features.daily", [1]).column("v").to_pylist() == [2]


def test_states_without_as_of_still_load() -> None:
    state = PublishState(
        table="features.x",
        version=3,
        keys=("k",),
        timestamp_key="ts",
        schema=pa.schema([("k", pa.int64())]),
        rows=1,
        published_at="2024-01-01T00:00:00+00:00",
        as_of=T0,
    )
    assert PublishState.from_json(state.to_json()) == state
    old = state.to_json().replace(', "as_of": "2013-07-01T00:00:00+00:00"', "")
    assert "as_of" not in old and PublishState.from_json(old).as_of is None


def weather_spec(online_store: FeatureStore) -> FeatureSpec:
    online_store.create_feature_table(
        "features.weather",
        data={
            "origin": ["JFK", "JFK", "LGA"],
            "ts": [T0, T0 + 6 * HOUR, T0],
            "temp": [1.0, 2.0, 3.0],
        },
        primary_keys=["origin"],
        timestamp_key="ts",
    )
    labels = pl.DataFrame({"airport": ["JFK"], "t": [T0 + HOUR]})
    lookup = FeatureLookup(
        "features.weather", {"airport": "origin"}, timestamp_lookup_key="t", max_age=3 * HOUR
    )
    return online_store.build_training_set(labels, [lookup]).spec


def test_lookups_judge_each_row_at_its_own_time(online_store: FeatureStore) -> None:
    spec = weather_spec(online_store)
    online_store.publish("features.weather", as_of=T0 + 2 * HOUR)  # JFK 1.0 at T0, LGA 3.0 at T0
    request = {"airport": ["JFK", "LGA", "JFK", "LGA"]}
    times = [T0 + 2 * HOUR, T0 + 5 * HOUR, datetime(2013, 7, 1, 3), None]  # None: now
    got = online_store.lookup(spec, request, at=times)
    assert got.column("temp").to_pylist() == [1.0, None, 1.0, None]
    naive = [datetime(2013, 7, 1, 2), datetime(2013, 7, 1, 1), datetime(2013, 7, 1, 4), T0]
    want = [1.0, 3.0, None, 3.0]
    series = pl.Series(naive, dtype=pl.Datetime("ns"))
    for at in (
        naive,
        pa.array(naive, pa.timestamp("s")),
        pa.chunked_array([pa.array(naive, pa.timestamp("ms", tz="America/New_York"))]),
        np.array(naive, dtype="datetime64[us]"),
        series,
        series.dt.replace_time_zone("UTC").dt.convert_time_zone("Asia/Tokyo"),
    ):
        assert online_store.lookup(spec, request, at=at).column("temp").to_pylist() == want, at
    dates = [date(2013, 7, 1)] * 4  # midnight UTC
    assert online_store.lookup(spec, request, at=dates).column("temp").to_pylist() == [1.0, 3.0] * 2
    # one datetime for the whole request, as before
    assert (
        online_store.lookup(spec, request, at=T0 + 4 * HOUR).column("temp").to_pylist()
        == [None] * 4
    )
    with pytest.raises(FeatureError, match="3 times for 4 keys"):
        online_store.lookup(spec, request, at=naive[:3])
    with pytest.raises(FeatureError, match="row 1 is str"):
        online_store.lookup(spec, request, at=[T0, "2013-07-01", T0, T0])
    with pytest.raises(FeatureError, match="holds int64 values"):
        online_store.lookup(spec, request, at=pa.array([1, 2, 3, 4]))
