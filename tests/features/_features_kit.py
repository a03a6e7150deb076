"""Helpers of the feature store tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import numpy as np
import polars as pl

from lakestack.features import FeatureStore

__all__ = ["create_join_tables"]


def create_join_tables(store: FeatureStore, seed: int) -> pl.DataFrame:
    """Create two feature tables in `store`, and return labels to join them to.

    `features.f`: f0 (float) and f1 (int) by `key` (0 to 299) at event times `ts` within 30
    days, 5,000 rows at most; `features.static`: `weight` by `cat` (a, b, c). The labels:
    4,000 rows of `id`, `key` (some with no feature rows, one in 89 null), `ts` and `cat`
    (some `z`, which `features.static` lacks).
    """
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
    store.create_feature_table(
        "features.f", data=features, primary_keys=["key"], timestamp_key="ts"
    )
    store.create_feature_table("features.static", data=static, primary_keys=["cat"])
    return pl.DataFrame(
        {
            "id": np.arange(4000),
            "key": pl.Series(keys).fill_nan(None).cast(pl.Int64),
            "ts": base + rng.integers(0, span, 4000).astype("timedelta64[us]"),
            "cat": rng.choice(["a", "b", "c", "z"], 4000),
        }
    )
