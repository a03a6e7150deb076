"""A training set joined key range by key range in one process (each range reading only its
range of the feature table) equals the one-shot join: same rows, same order, same spec."""

from __future__ import annotations

import polars as pl
import pytest
from _features_kit import create_join_tables
from polars.testing import assert_frame_equal

from lakestack.errors import FeatureError
from lakestack.features import FeatureLookup, FeatureStore


@pytest.fixture
def tables(store: FeatureStore) -> tuple[FeatureStore, pl.DataFrame]:
    return store, create_join_tables(store, seed=3)


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
