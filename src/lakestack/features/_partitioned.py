"""A point-in-time training set split by key range, each range joined in a Ray task.

For tables larger than one machine is comfortable with: the labels are cut into key ranges
(by the first key of the first lookup, at quantiles of the labels' keys), each Ray task reads
only that range of the feature table (a Delta filter on the key, which skips files whose
statistics are outside it) and joins its labels with the same kernel as `build_training_set`;
the driver puts the rows back in the labels' order. Every lookup reads the version pinned on
the driver, so the ranges see one snapshot; the result equals the one-process join.

The workers must reach the lake at the same location (object storage, or a shared folder).
Ray is imported only here (`pip install 'lakestack[ray]'`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from lakestack.errors import FeatureError
from lakestack.features._data import to_polars
from lakestack.features._spec import FeatureLookup
from lakestack.features._tables import get_feature_table
from lakestack.features._training_set import TrainingSet, build_training_set
from lakestack.lake import Lake

if TYPE_CHECKING:
    import polars as pl

__all__ = ["build_training_set_on_ray"]

_ROW = "__lakestack_label_row"


def _join_range(
    root: str,
    environment: str,
    options: dict[str, str] | None,
    labels: pl.DataFrame,
    lookups: list[FeatureLookup],
    table: str,
    key: str,
    bounds: tuple[Any, Any],
) -> TrainingSet:
    """One key range, in a Ray task: read that range of the table and join its labels."""
    lake = Lake(root, environment=environment, storage_options=options)
    low, high = bounds
    where: list[tuple[str, str, Any]] = []
    if low is not None:
        where.append((key, ">=", low))
    if high is not None:
        where.append((key, "<", high))
    return build_training_set(lake, labels, lookups, filters={table: where} if where else None)


def _pin(lake: Lake, lookups: Sequence[FeatureLookup]) -> list[FeatureLookup]:
    pinned = []
    for lookup in lookups:
        ref = lookup.ref
        version = ref.version if ref.version is not None else lake.version(str(ref.name))
        pinned.append(replace(lookup, table=f"{ref.name}@{version}"))
    return pinned


def _cuts(keys: pl.Series, partitions: int) -> list[Any]:
    """Up to `partitions - 1` increasing key values that cut the labels into ranges."""
    values = keys.drop_nulls().unique().sort()
    if values.len() == 0:
        return []
    picks = sorted({int(i * values.len() / partitions) for i in range(1, partitions)})
    return [values[i] for i in picks if 0 < i < values.len()]


def build_training_set_on_ray(
    lake: Lake,
    labels: Any,
    lookups: Sequence[FeatureLookup],
    *,
    partitions: int,
    address: str | None = None,
) -> TrainingSet:
    """`build_training_set`, the labels split into `partitions` key ranges joined on Ray.

    Args:
        lake: the lake of the feature tables (the Ray workers must reach it too).
        labels: the labels, as for `build_training_set`.
        lookups: the lookups; the first one's first key column partitions the work.
        partitions: how many key ranges (Ray tasks).
        address: `ray://host:port`, or None (`ray`) for a local Ray (joined when running).

    Returns:
        The same training set as `build_training_set`, rows in the labels' order.

    Raises:
        FeatureError: no lookups, fewer than one partition, or Ray is not installed.
    """
    import polars as pl

    if partitions < 1 or not lookups:
        raise FeatureError("a partitioned training set needs lookups and at least 1 partition")
    try:
        import ray
    except ImportError:
        raise FeatureError(
            "training sets on Ray need Ray: pip install 'lakestack[ray]' (or build it locally)"
        ) from None
    frame = to_polars(labels, "labels")
    pinned = _pin(lake, lookups)
    table = get_feature_table(lake, str(pinned[0].ref.name))
    label_key, table_key = next(iter(pinned[0].key_map(table.primary_keys).items()))
    cuts = _cuts(frame.get_column(label_key), partitions)
    bounds = list(zip([None, *cuts], [*cuts, None], strict=True))
    indexed = frame.with_row_index(_ROW)
    column = pl.col(label_key)
    started = not ray.is_initialized()
    if started:
        target = None if address in (None, "ray") else address
        ray.init(address=target, include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(_join_range).options(num_cpus=1, max_retries=2)
        refs = []
        for i, (low, high) in enumerate(bounds):
            part = indexed.filter(
                (column >= low if low is not None else pl.lit(True))
                & (column < high if high is not None else pl.lit(True))
                | (column.is_null() if i == 0 else pl.lit(False))
            )
            if part.height:
                options = dict(lake.storage_options) if lake.storage_options else None
                args = (lake.root, lake.environment, options, part, pinned, table.name)
                refs.append(task.remote(*args, table_key, (low, high)))
        parts: list[TrainingSet] = ray.get(refs)
    finally:
        if started:
            ray.shutdown()
    data = pl.concat([p.data for p in parts], how="vertical").sort(_ROW).drop(_ROW)
    return TrainingSet(data=data, spec=parts[0].spec, label_columns=tuple(frame.columns))
