"""A training set split by key range and joined in Ray tasks on the Ray cluster started by the
tests equals the one-process join: same rows, same order, same spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from polars.testing import assert_frame_equal

from _kit.clusters import RayCluster
from lakestack.features import FeatureLookup, FeatureStore
from lakestack.lake import Lake


def _data(seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    base = np.datetime64("2024-01-01T00:00:00", "us")
    span = 30 * 24 * 3600 * 10**6
    features = pl.DataFrame(
        {
            "key": rng.integers(0, 200, 6000),
            "ts": base + rng.integers(0, span, 6000).astype("timedelta64[us]"),
            "f0": rng.normal(size=6000),
            "f1": rng.normal(size=6000),
        }
    ).unique(["key", "ts"], keep="first", maintain_order=True)
    static = pl.DataFrame({"cat": ["a", "b", "c"], "weight": [1.0, 2.0, 3.0]})
    keys = rng.integers(0, 220, 4000).astype(float)  # some keys have no features
    keys[::97] = np.nan
    labels = pl.DataFrame(
        {
            "id": np.arange(4000),
            "key": pl.Series(keys).fill_nan(None).cast(pl.Int64),
            "ts": base + rng.integers(0, span, 4000).astype("timedelta64[us]"),
            "cat": rng.choice(["a", "b", "c", "z"], 4000),
        }
    )
    return labels, features, static


def test_the_join_on_ray_equals_the_local_join(tmp_path: Path, ray_cluster: RayCluster) -> None:
    labels, features, static = _data()
    store = FeatureStore(Lake(tmp_path / "lake"))
    store.create_feature_table(
        "features.f", data=features, primary_keys=["key"], timestamp_key="ts"
    )
    store.create_feature_table("features.static", data=static, primary_keys=["cat"])
    lookups = [
        FeatureLookup("features.f", "key", timestamp_lookup_key="ts"),
        FeatureLookup("features.static", "cat"),
    ]
    local = store.build_training_set(labels, lookups)
    on_ray = store.build_training_set(labels, lookups, engine=ray_cluster.address, partitions=5)
    assert_frame_equal(on_ray.to_polars(), local.to_polars())
    assert on_ray.spec == local.spec
    assert local.to_polars()["f0"].null_count() > 0  # some labels have no feature row
