"""A training set split by key range and joined in Ray tasks on the Ray cluster started by the
tests equals the one-process join: same rows, same order, same spec."""

from __future__ import annotations

from pathlib import Path

from _features_kit import create_join_tables
from polars.testing import assert_frame_equal

from _kit.clusters import RayCluster
from lakestack.features import FeatureLookup, FeatureStore
from lakestack.lake import Lake


def test_the_join_on_ray_equals_the_local_join(tmp_path: Path, ray_cluster: RayCluster) -> None:
    store = FeatureStore(Lake(tmp_path / "lake"))
    labels = create_join_tables(store, seed=0)
    lookups = [
        FeatureLookup("features.f", "key", timestamp_lookup_key="ts"),
        FeatureLookup("features.static", "cat"),
    ]
    local = store.build_training_set(labels, lookups)
    on_ray = store.build_training_set(labels, lookups, engine=ray_cluster.address, partitions=5)
    assert_frame_equal(on_ray.to_polars(), local.to_polars())
    assert on_ray.spec == local.spec
    assert local.to_polars()["f0"].null_count() > 0  # some labels have no feature row
