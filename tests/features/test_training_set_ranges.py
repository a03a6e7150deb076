"""A training set joined key range by key range in one process (each range reading only its
range of the feature table) equals the one-shot join: same rows, same order, same spec."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from lakestack.errors import FeatureError
from lakestack.features import FeatureLookup, FeatureStore


def _data(seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    base = np.datetime64("2024-01-01T00:00:00", "us")
    span = 30 * 24 * 3600 * 10**6
    n = 5000
    features = pl.DataFrame(
        {
            "key": rng.integers(0, 300, n),
            "ts": base + rng.integers(0, span, n).astype("timedelta64[us]"),
            "f0": rng.normal(size=n),
            "f1": rng.integers(0, 100, n),
        }
    ).unique(["key", "ts"], keep="first", maintain_order=True)
    static = pl.DataFrame({"cat": ["a", "b", "c"], "weight": [1.0, 2.0, 3.0]})
    keys = rng.integers(-10, 330, 4000).astype(float)  # some keys have no feature rows
    keys[::89] = np.nan
    labels = pl.DataFrame(
        {
            "id": np.arange(4000),
            "key": pl.Series(keys).fill_nan(None).cast(pl.Int64),
            "ts": base + rng.integers(0, span, 4000).astype("timedelta64[us]"),
            "cat": rng.choice(["a", "b", "c", "z"], 4000),
        }
    )
    return labels, features, static


@pytest.fixture
def tables(store: FeatureStore) -> tuple[FeatureStore, pl.DataFrame]:
    labels, features, static = _data(seed=3)
    store.create_feature_table(
        "features.f", data=features, primary_keys=["key"], timestamp_key="ts"
    )
    store.create_feature_table("features.static", data=static, primary_keys=["cat"])
    return store, labels


LOOKUPS = [
    FeatureLookup("features.f", "key", timestamp_lookup_key="ts", rename={"f1": "n"}),
    FeatureLookup("features.static", "cat"),
]


@pytest.mark.parametrize("partitions", [1, 2, 7, 50, 10_000])
def test_key_ranges_equal_the_one_shot_join(
    tables: tuple[FeatureStore, pl.DataFrame], partitions: int
) -> None:
    store, labels = tables
    one_shot = store.build_training_set(labels, LOOKUPS)
    ranged = store.build_training_set(labels, LOOKUPS, partitions=partitions)
    assert_frame_equal(ranged.to_polars(), one_shot.to_polars())
    assert ranged.spec == one_shot.spec
    data = one_shot.to_polars()
    assert data["f0"].null_count() > 0 and data["f0"].is_not_null().sum() > 3000


def test_key_ranges_read_one_snapshot_and_keep_the_labels_order(
    tables: tuple[FeatureStore, pl.DataFrame],
) -> None:
    """Labels in any key order come back in their own order, from one version of each table."""
    store, labels = tables
    shuffled = labels.sample(fraction=1.0, shuffle=True, seed=1)
    one_shot = store.build_training_set(shuffled, LOOKUPS)
    ranged = store.build_training_set(shuffled, LOOKUPS, partitions=4)
    assert_frame_equal(ranged.to_polars(), one_shot.to_polars())
    assert ranged.to_polars()["id"].to_list() == shuffled["id"].to_list()
    assert ranged.table_versions == one_shot.table_versions


def test_key_ranges_need_a_partition_and_labels(
    tables: tuple[FeatureStore, pl.DataFrame],
) -> None:
    store, labels = tables
    with pytest.raises(FeatureError, match="at least 1 partition"):
        store.build_training_set(labels, LOOKUPS, partitions=0)
    with pytest.raises(FeatureError, match="the labels are empty"):
        store.build_training_set(labels.head(0), LOOKUPS, partitions=3)
