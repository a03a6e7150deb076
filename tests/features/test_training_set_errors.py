"""Bad input to build_training_set raises FeatureError naming the column and the fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from lakestack.errors import FeatureError
from lakestack.features import FeatureLookup, FeatureStore

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def fs(store: FeatureStore) -> FeatureStore:
    store.create_feature_table(
        "features.weather",
        data={"origin": ["JFK"], "ts": [T0], "temp": [1.0]},
        primary_keys=["origin"],
        timestamp_key="ts",
    )
    store.create_feature_table(
        "features.planes", data={"tail": [1, 2], "seats": [100, 200]}, primary_keys=["tail"]
    )
    return store


LABELS = pl.DataFrame({"origin": ["JFK"], "tail": [1], "t": [T0 + timedelta(hours=1)]})
WEATHER = FeatureLookup("features.weather", "origin", timestamp_lookup_key="t")


@pytest.mark.parametrize(
    ("labels", "lookup", "message"),
    [
        (LABELS.head(0), WEATHER, "the labels are empty"),
        (
            LABELS.drop("origin"),
            WEATHER,
            r"lookup key column 'origin' is not in the labels .*lookup_key=",
        ),
        (
            LABELS.with_columns(pl.col("tail").cast(pl.String)),
            FeatureLookup("features.planes", "tail"),
            r"label column 'tail' is String but the table's key 'tail' is Int64; cast .*pl.Int64",
        ),
        (
            LABELS.with_columns(pl.col("origin").hash()),
            WEATHER,
            r"label column 'origin' is UInt64 but the table's key 'origin' is String",
        ),
        (
            LABELS.with_columns(pl.col("t").cast(pl.String)),
            WEATHER,
            r"label time column 't' is String .*str.to_datetime",
        ),
        (
            LABELS.with_columns(pl.col("t").dt.epoch("s")),
            WEATHER,
            r"label time column 't' is Int64 but the table's event time 'ts'",
        ),
        (
            LABELS.with_columns(pl.col("t").dt.replace_time_zone(None)),
            WEATHER,
            r"label time column 't' has no time zone .*replace_time_zone\(\"UTC\"\)",
        ),
        (
            LABELS,
            FeatureLookup("features.weather", "origin", timestamp_lookup_key="when"),
            r"timestamp_lookup_key 'when' is not a column of the labels",
        ),
        (
            LABELS,
            FeatureLookup("features.weather", "origin"),
            r"needs timestamp_lookup_key.*leak",
        ),
        (
            LABELS,
            FeatureLookup("features.weather", "origin", ["wind"], timestamp_lookup_key="t"),
            r"'wind' is not a feature of the table; its features are temp",
        ),
        (
            LABELS,
            FeatureLookup("features.weather", ["origin", "t"], timestamp_lookup_key="t"),
            r"has 2 column\(s\) but the table's primary keys are \['origin'\]",
        ),
        (
            LABELS,
            FeatureLookup("features.weather", {"origin": "city"}, timestamp_lookup_key="t"),
            r"not keys: \['city'\].*missing: \['origin'\]",
        ),
        (
            LABELS.with_columns(temp=pl.lit(1.0)),
            WEATHER,
            r"feature column 'temp' is also a column of the labels; rename it, e.g. rename=",
        ),
        (LABELS, FeatureLookup("features.nothing", "origin"), "does not exist"),
    ],
)
def test_bad_input_names_the_column(
    fs: FeatureStore, labels: pl.DataFrame, lookup: FeatureLookup, message: str
) -> None:
    with pytest.raises(FeatureError, match=message):
        fs.build_training_set(labels, [lookup])


def test_two_lookups_may_not_produce_one_column(fs: FeatureStore) -> None:
    with pytest.raises(FeatureError, match="'temp' is also a column of another lookup"):
        fs.build_training_set(LABELS, [WEATHER, WEATHER])
    ok = fs.build_training_set(
        LABELS,
        [
            WEATHER,
            FeatureLookup(
                "features.weather", "origin", rename={"temp": "t2"}, timestamp_lookup_key="t"
            ),
        ],
    )
    assert ok.to_polars().get_column("t2").to_list() == [1.0]


def test_labels_of_every_shape(fs: FeatureStore) -> None:
    expected = [1.0]
    as_arrow = LABELS.to_arrow()
    as_pandas: Any = LABELS.to_pandas()
    as_dicts = LABELS.to_dicts()
    for labels in (as_arrow, as_pandas, as_dicts):
        got = fs.build_training_set(labels, [WEATHER]).to_polars()
        assert got.get_column("temp").to_list() == expected
    arrow = fs.build_training_set(LABELS, [WEATHER]).to_arrow()
    assert arrow.column("temp").to_pylist() == expected


def test_label_times_in_other_units_and_zones(fs: FeatureStore) -> None:
    labels = LABELS.with_columns(
        pl.col("t").cast(pl.Datetime("ns", "UTC")).dt.convert_time_zone("America/New_York")
    )
    got = fs.build_training_set(labels, [WEATHER]).to_polars()
    assert got.get_column("temp").to_list() == [1.0]
    assert got.schema["t"] == pl.Datetime("ns", "America/New_York")  # the labels are untouched
