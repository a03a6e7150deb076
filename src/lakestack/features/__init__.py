"""The feature store: feature tables, point-in-time training sets, online stores.

- A feature table is a Delta table with primary keys, an optional event-time column, and a
  description, owner and tags kept in the table's own configuration.
- `FeatureStore.build_training_set` joins labels to feature tables point in time: a label at
  time t only sees feature values with event time <= t.
- `FeatureStore.publish` writes the latest row per key to the online store (SQLite embedded,
  Redis in production), incrementally; `lookup` fetches many keys in one round trip.

Example:
    >>> from lakestack.features import FeatureLookup, FeatureStore
    >>> store = FeatureStore(project, "dev")  # doctest: +SKIP
    >>> training = store.build_training_set(labels, [
    ...     FeatureLookup("features.weather", lookup_key="origin",
    ...                   timestamp_lookup_key="sched_dep_ts"),
    ... ])  # doctest: +SKIP
    >>> training.to_polars().shape  # doctest: +SKIP
"""

from __future__ import annotations

from lakestack.features._online._base import (
    OnlineStore,
    PublishState,
    open_online_store,
    register_online_store,
)
from lakestack.features._publish import CheckResult, Mismatch, PublishResult
from lakestack.features._spec import FeatureLookup, FeatureSpec
from lakestack.features._store import FeatureStore
from lakestack.features._tables import FeatureTable
from lakestack.features._training_set import TrainingSet

__all__ = [
    "CheckResult",
    "FeatureLookup",
    "FeatureSpec",
    "FeatureStore",
    "FeatureTable",
    "Mismatch",
    "OnlineStore",
    "PublishResult",
    "PublishState",
    "TrainingSet",
    "open_online_store",
    "register_online_store",
]
