"""Online stores (SQLite and Redis): publish, lookup with types preserved, incremental publish,
and the online/offline check."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from lakestack.errors import FeatureError
from lakestack.features import FeatureLookup, FeatureStore, PublishState, open_online_store

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def typed_rows() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "ts": pa.array([T0, T0, T0 + timedelta(hours=1)], pa.timestamp("us", tz="UTC")),
            "small": pa.array([1, None, -3], pa.int32()),
            "x": pa.array([1.5, float("nan"), None], pa.float64()),
            "inf": pa.array([float("inf"), -float("inf"), 0.0], pa.float64()),
            "name": pa.array(["a", None, 'c|d:"e"'], pa.string()),
            "flag": pa.array([True, False, None], pa.bool_()),
            "day": pa.array([date(2024, 1, 1), None, date(1969, 12, 31)], pa.date32()),
            "local": pa.array([datetime(2024, 1, 1, 12), None, None], pa.timestamp("us")),
            "price": pa.array([Decimal("1.25"), None, Decimal("-3.50")], pa.decimal128(10, 2)),
            "tags": pa.array([[1, 2], [], None], pa.list_(pa.int64())),
            "blob": pa.array([b"\x00\xff", None, b"x"], pa.binary()),
        }
    )


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def test_types_survive_the_online_store(online_store: FeatureStore) -> None:
    rows = typed_rows()
    online_store.create_feature_table(
        "features.typed", data=rows, primary_keys=["id"], timestamp_key="ts"
    )
    result = online_store.publish("features.typed")
    assert (result.keys_written, result.full) == (3, True)
    got = online_store.lookup("features.typed", [3, 99, 1, 2, 1])
    offline = online_store.read("features.typed").to_arrow()
    assert got.schema.names == offline.schema.names
    for name in got.schema.names:
        assert got.schema.field(name).type == offline.schema.field(name).type, name
    expected = {r["id"]: r for r in offline.to_pylist()}
    for key, row in zip([3, 99, 1, 2, 1], got.to_pylist(), strict=True):
        if key == 99:
            assert row["id"] == 99  # the requested key comes back, its features are null
            assert all(v is None for k, v in row.items() if k != "id")
            continue
        for column, value in row.items():
            assert same(value, expected[key][column]), (key, column, value, expected[key][column])
    assert online_store.check("features.typed").passed


def test_multi_column_keys_and_latest_row(online_store: FeatureStore) -> None:
    online_store.create_feature_table(
        "features.routes",
        data=pl.DataFrame(
            {
                "origin": ["JFK", "JFK", "LGA"],
                "dest": [1, 1, 1],
                "as_of": [T0, T0 + timedelta(hours=2), T0],
                "delay": [1.0, 2.0, 3.0],
            }
        ),
        primary_keys=["origin", "dest"],
        timestamp_key="as_of",
    )
    assert online_store.publish("features.routes").keys_written == 2
    got = online_store.lookup(
        "features.routes", [{"origin": "LGA", "dest": 1}, {"origin": "JFK", "dest": 1}]
    )
    assert got.column("delay").to_pylist() == [3.0, 2.0]  # the latest row per key
    # keys given as strings are cast to the stored type
    as_text = online_store.lookup("features.routes", {"origin": ["JFK"], "dest": ["1"]})
    assert as_text.select(["dest", "delay"]).to_pylist() == [{"dest": 1, "delay": 2.0}]
    with pytest.raises(FeatureError, match="key column 'dest' is missing"):
        online_store.lookup("features.routes", [{"origin": "JFK"}])
    with pytest.raises(FeatureError, match="key column 'dest' is string but the online key"):
        online_store.lookup("features.routes", {"origin": ["JFK"], "dest": ["one"]})
    with pytest.raises(FeatureError, match="not published"):
        online_store.lookup("features.nothing", ["x"])


def test_publish_writes_only_changed_keys(online_store: FeatureStore) -> None:
    data = pl.DataFrame(
        {"k": list(range(100)), "ts": [T0] * 100, "v": [float(i) for i in range(100)]}
    )
    online_store.create_feature_table(
        "features.f", data=data, primary_keys=["k"], timestamp_key="ts"
    )
    first = online_store.publish("features.f")
    assert (first.keys_written, first.full, first.previous_version) == (100, True, None)
    again = online_store.publish("features.f")
    assert (again.keys_written, again.keys_deleted, again.full) == (0, 0, False)
    # later rows for 3 keys, a new key, a replaced row, a deleted key; 95 keys untouched
    online_store.write(
        "features.f",
        {
            "k": [1, 2, 3, 500],
            "ts": [T0 + timedelta(hours=1)] * 4,
            "v": [10.0, 20.0, 3.0, 5.0],
        },
    )
    online_store.write("features.f", {"k": [4], "ts": [T0], "v": [-4.0]})  # same time: replaced
    online_store.lake.delete("features.f", "k = 99")
    third = online_store.publish("features.f")
    assert (third.keys_written, third.keys_deleted, third.full) == (5, 1, False)
    assert third.previous_version == first.version
    got = online_store.lookup("features.f", [1, 2, 3, 4, 99, 500])
    assert got.column("v").to_pylist() == [10.0, 20.0, 3.0, -4.0, None, 5.0]
    assert online_store.check("features.f", sample=200).passed
    assert online_store.publish("features.f").keys_written == 0
    # a new version with the same values writes nothing either
    online_store.write("features.f", {"k": [1], "ts": [T0 + timedelta(hours=1)], "v": [10.0]})
    same_values = online_store.publish("features.f")
    assert (same_values.keys_written, same_values.version) == (0, third.version + 1)
    # a new column changes the layout: the whole table is published again
    online_store.write("features.f", {"k": [7], "ts": [T0], "v": [7.0], "extra": ["e"]})
    fourth = online_store.publish("features.f")
    assert (fourth.keys_written, fourth.full) == (100, True)
    assert online_store.lookup("features.f", [7]).column("extra").to_pylist() == ["e"]
    assert online_store.publish("features.f", full=True).keys_written == 100
    assert online_store.check("features.f", sample=200).passed


def test_check_reports_mismatches(online_store: FeatureStore) -> None:
    online_store.create_feature_table(
        "features.f", data={"k": [1, 2, 3], "v": [1.0, 2.0, 3.0]}, primary_keys=["k"]
    )
    before = online_store.check("features.f")
    assert not before.passed
    assert before.published_version is None and len(before.missing) == 3
    online_store.publish("features.f")
    assert online_store.check("features.f").passed
    # Corrupt the online copy behind the store's back, and drop a key.
    state = online_store.online.state("features.f")
    assert isinstance(state, PublishState)
    online_store.online.write(
        state, pa.table({"k": [2], "v": [99.0]}), deleted=pa.table({"k": [3]})
    )
    result = online_store.check("features.f")
    assert not result.passed
    assert result.mismatched_keys == 1
    assert [(m.key, m.column, m.offline, m.online) for m in result.mismatches] == [
        ({"k": 2}, "v", 2.0, 99.0)
    ]
    assert result.missing == [{"k": 3}]


def test_lookup_by_spec_with_max_age(online_store: FeatureStore) -> None:
    online_store.create_feature_table(
        "features.weather",
        data={"origin": ["JFK", "LGA"], "ts": [T0, T0 - timedelta(hours=5)], "temp": [1.0, 2.0]},
        primary_keys=["origin"],
        timestamp_key="ts",
    )
    online_store.create_feature_table(
        "features.planes", data={"tailnum": ["N1"], "seats": [100]}, primary_keys=["tailnum"]
    )
    labels = pl.DataFrame({"airport": ["JFK"], "tail": ["N1"], "t": [T0 + timedelta(hours=1)]})
    training = online_store.build_training_set(
        labels,
        [
            FeatureLookup(
                "features.weather",
                {"airport": "origin"},
                rename={"temp": "temperature"},
                timestamp_lookup_key="t",
                max_age=timedelta(hours=3),
            ),
            FeatureLookup("features.planes", {"tail": "tailnum"}),
        ],
    )
    for table in ("features.weather", "features.planes"):
        online_store.publish(table)
    request = [{"airport": "JFK", "tail": "N1"}, {"airport": "LGA", "tail": "N2"}]
    got = online_store.lookup(training.spec, request, at=T0 + timedelta(hours=1))
    assert got.column_names == ["airport", "tail", "temperature", "seats"]
    assert got.to_pylist() == [
        {"airport": "JFK", "tail": "N1", "temperature": 1.0, "seats": 100},
        {"airport": "LGA", "tail": "N2", "temperature": None, "seats": None},  # 6 h old; unknown
    ]
    # the same row as in the training set, from the keys alone
    assert (
        got.slice(0, 1).column("temperature").to_pylist()
        == training.to_polars().get_column("temperature").to_list()
    )
    late = online_store.lookup(training.spec, request[:1], at=T0 + timedelta(hours=4))
    assert late.column("temperature").to_pylist() == [None]


def test_unknown_scheme_and_unreachable_store() -> None:
    with pytest.raises(FeatureError, match="no backend for scheme 'mongodb'"):
        open_online_store("mongodb://x")
    with pytest.raises(FeatureError, match="cannot reach the online store"):
        open_online_store("redis://127.0.0.1:1/0")
