"""Feature tables: creation, metadata kept with the Delta table, writes by key and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pyarrow as pa
import pytest

from lakestack.config import Project
from lakestack.errors import FeatureError
from lakestack.features import FeatureStore
from lakestack.lake import Lake

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def weather() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "origin": ["JFK", "JFK", "LGA"],
            "ts": [T0, T0 + timedelta(hours=1), T0],
            "temp": [1.0, 2.0, 3.0],
        }
    )


def test_create_keeps_metadata_with_the_table(store: FeatureStore, project: Project) -> None:
    table = store.create_feature_table(
        "features.weather",
        data=weather(),
        primary_keys=["origin"],
        timestamp_key="ts",
        description="hourly weather",
        owner="team-a",
        tags={"domain": "flights"},
    )
    assert table.primary_keys == ("origin",)
    assert table.timestamp_key == "ts"
    assert table.features == ["temp"]
    # A fresh lake on the same folder reads it back from the Delta table itself.
    again = FeatureStore(Lake.for_environment(project, "dev")).get_feature_table("features.weather")
    assert again.description == "hourly weather"
    assert again.owner == "team-a"
    assert again.tags == {"domain": "flights"}
    assert store.lake.read("features.weather").num_rows == 3
    assert store.lake.info("features.weather").description == "hourly weather"


def test_list_skips_plain_tables(store: FeatureStore) -> None:
    store.lake.append("silver.plain", {"x": [1]})
    store.create_feature_table("features.b", data={"k": [1], "v": [1.0]}, primary_keys=["k"])
    store.create_feature_table(
        "features.a", schema=pa.schema([("k", pa.string()), ("v", pa.int64())]), primary_keys=["k"]
    )
    assert [t.name for t in store.list_feature_tables()] == ["features.a", "features.b"]
    with pytest.raises(FeatureError, match="plain table"):
        store.get_feature_table("silver.plain")


def test_register_an_existing_table_and_update(store: FeatureStore) -> None:
    store.lake.append("silver.planes", {"tailnum": ["N1"], "seats": [100]})
    with pytest.raises(FeatureError, match="already exists"):
        store.create_feature_table(
            "silver.planes", data={"tailnum": ["N1"]}, primary_keys=["tailnum"]
        )
    table = store.create_feature_table(
        "silver.planes",
        schema=store.lake.schema("silver.planes"),
        primary_keys=["tailnum"],
        exist_ok=True,
        description="planes",
    )
    assert table.features == ["seats"]
    updated = store.update_feature_table("silver.planes", owner="ops", tags={"t": "1"})
    assert (updated.owner, updated.tags, updated.description) == ("ops", {"t": "1"}, "planes")


def test_merge_by_keys_and_time(store: FeatureStore) -> None:
    store.create_feature_table(
        "features.weather", data=weather(), primary_keys=["origin"], timestamp_key="ts"
    )
    store.write(
        "features.weather",
        pl.DataFrame(
            {"origin": ["JFK", "EWR"], "ts": [T0, T0], "temp": [10.0, 5.0]},
        ),
    )
    rows = store.read("features.weather").sort("origin", "ts")
    assert rows.rows() == [
        ("EWR", T0, 5.0),
        ("JFK", T0, 10.0),
        ("JFK", T0 + timedelta(hours=1), 2.0),
        ("LGA", T0, 3.0),
    ]
    store.write("features.weather", weather().head(1), mode="overwrite")
    assert store.read("features.weather").height == 1
    assert store.get_feature_table("features.weather").timestamp_key == "ts"  # metadata kept


@pytest.mark.parametrize(
    ("data", "keys", "ts", "message"),
    [
        ({"k": [1], "v": [1.0]}, ["missing"], None, "'missing' is not in the data"),
        ({"k": [1], "v": [1.0]}, ["k"], "v", "event-time column 'v' is double"),
        ({"k": [1.5], "v": [1.0]}, ["k"], None, "primary key 'k' is double"),
        ({"k": [1, None], "v": [1.0, 2.0]}, ["k"], None, "column 'k' has 1 null"),
        ({"k": [1, 1], "v": [1.0, 2.0]}, ["k"], None, r"2 rows repeat a value of \(k\)"),
        ({"k": [1], "v": [1.0]}, [], None, "at least one primary key"),
    ],
)
def test_bad_tables_name_the_column(
    store: FeatureStore,
    data: dict[str, list[object]],
    keys: list[str],
    ts: str | None,
    message: str,
) -> None:
    with pytest.raises(FeatureError, match=message):
        store.create_feature_table("features.bad", data=data, primary_keys=keys, timestamp_key=ts)
    assert not store.lake.exists("features.bad")


def test_bad_writes_name_the_column(store: FeatureStore) -> None:
    store.create_feature_table(
        "features.weather", data=weather(), primary_keys=["origin"], timestamp_key="ts"
    )
    with pytest.raises(FeatureError, match="column 'ts' is missing"):
        store.write("features.weather", {"origin": ["JFK"], "temp": [1.0]})
    with pytest.raises(FeatureError, match="column 'ts' has 1 null"):
        store.write("features.weather", {"origin": ["JFK"], "ts": [None], "temp": [1.0]})
    with pytest.raises(FeatureError, match="write mode 'upsert'"):
        store.write("features.weather", weather(), mode="upsert")
    with pytest.raises(FeatureError, match="does not exist"):
        store.write("features.nothing", weather())
