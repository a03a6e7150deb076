"""A point-in-time training set split by key range: the ranges joined one after another in
this process (bounded memory) or in Ray tasks.

For tables larger than one machine is comfortable with: the labels are cut into key ranges
(by the first key of the first lookup, at quantiles of the labels' keys); each range reads only
that range of the feature table (a Delta filter on the key, which skips the files and row
groups whose statistics are outside it) and joins its labels with the same kernel as
`build_training_set`; the feature columns are put back in the labels' order. Every lookup reads
the version pinned at the start, so the ranges see one snapshot; the result equals the
one-shot join.

Ray workers must reach the lake at the same location (object storage, or a shared folder).
Ray is imported only for the Ray engine (`pip install 'lakestack[ray]'`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from lakestack.errors import FeatureError
from lakestack.features._data import to_polars
from lakestack.features._spec import FeatureLookup
from lakestack.features._tables import get_feature_table
from lakestack.features._training_set import TrainingSet, build_training_set
from lakestack.lake import Lake
from lakestack.ray_connect import connect_ray

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

__all__ = ["build_training_set_in_ranges", "build_training_set_on_ray"]

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
    """One key range: read that range of the table and join its labels; the training set of
    the range without the labels' columns (the caller has them)."""
    lake = Lake(root, environment=environment, storage_options=options)
    low, high = bounds
    where: list[tuple[str, str, Any]] = []
    if low is not None:
        where.append((key, ">=", low))
    if high is not None:
        where.append((key, "<", high))
    joined = build_training_set(lake, labels, lookups, filters={table: where} if where else None)
    return replace(joined, data=joined.data.select(joined.feature_columns))


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


@dataclass(frozen=True)
class _Range:
    """One key range's labels, their rows among all labels, and the arguments of its join."""

    rows: np.ndarray
    arguments: tuple[Any, ...]


class _Split:
    """The labels cut into key ranges, and the training set put back together from the ranges'.

    Args:
        lake: the lake of the feature tables.
        labels: the labels, as for `build_training_set`.
        lookups: the lookups; the first one's first key column cuts the ranges.
        partitions: how many key ranges.
    """

    def __init__(
        self, lake: Lake, labels: Any, lookups: Sequence[FeatureLookup], partitions: int
    ) -> None:
        if partitions < 1 or not lookups:
            raise FeatureError(
                "a training set built by key range needs lookups and at least 1 partition"
            )
        self.lake = lake
        self.frame = to_polars(labels, "labels")
        if self.frame.height == 0:
            build_training_set(lake, self.frame, lookups)  # raises: the labels are empty
        self.lookups = _pin(lake, lookups)
        self.table = get_feature_table(lake, str(self.lookups[0].ref.name))
        keys = self.lookups[0].key_map(self.table.primary_keys)
        self.label_key, self.table_key = next(iter(keys.items()))
        self.partitions = partitions

    def ranges(self) -> Iterator[_Range]:
        """The non-empty ranges, in key order (labels with a null key go with the first)."""
        import polars as pl

        cuts = _cuts(self.frame.get_column(self.label_key), self.partitions)
        indexed = self.frame.with_row_index(_ROW)
        column = pl.col(self.label_key)
        options = dict(self.lake.storage_options) if self.lake.storage_options else None
        place = (self.lake.root, self.lake.environment, options)
        for i, (low, high) in enumerate(zip([None, *cuts], [*cuts, None], strict=True)):
            part = indexed.filter(
                (column >= low if low is not None else pl.lit(True))
                & (column < high if high is not None else pl.lit(True))
                | (column.is_null() if i == 0 else pl.lit(False))
            )
            if part.height:
                labels = part.drop(_ROW)
                rows = part.get_column(_ROW).cast(pl.Int64).to_numpy()
                arguments = (*place, labels, self.lookups, self.table.name, self.table_key)
                yield _Range(rows, (*arguments, (low, high)))

    def assemble(self, rows: list[np.ndarray], parts: list[TrainingSet]) -> TrainingSet:
        """The labels with the ranges' feature columns, in the labels' order."""
        import numpy as np
        import polars as pl

        where = np.empty(self.frame.height, dtype=np.int64)  # each label's row in the parts
        where[np.concatenate(rows)] = np.arange(self.frame.height)
        take = pl.Series(where)
        ordered = pl.DataFrame(  # a column at a time: one column of the parts copied at once
            [
                pl.concat([p.data.get_column(c) for p in parts], rechunk=True).gather(take)
                for c in parts[0].data.columns
            ]
        )
        return TrainingSet(
            data=self.frame.hstack(ordered),
            spec=parts[0].spec,
            label_columns=tuple(self.frame.columns),
        )


def build_training_set_in_ranges(
    lake: Lake, labels: Any, lookups: Sequence[FeatureLookup], *, partitions: int
) -> TrainingSet:
    """`build_training_set`, the labels split into `partitions` key ranges joined one after
    another, each reading only its range of the first lookup's table: bounded memory for
    tables larger than memory is comfortable with (fastest when the table's files are
    clustered by key, so that a range's read skips the others).

    Raises:
        FeatureError: no lookups or fewer than one partition; as `build_training_set`.
    """
    split = _Split(lake, labels, lookups, partitions)
    rows, parts = [], []
    for piece in split.ranges():
        rows.append(piece.rows)
        parts.append(_join_range(*piece.arguments))
    return split.assemble(rows, parts)


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
        FeatureError: no lookups, fewer than one partition, Ray is not installed, or the
            cluster refused every connection.
    """
    split = _Split(lake, labels, lookups, partitions)
    try:
        import ray
    except ImportError:
        raise FeatureError(
            "training sets on Ray need Ray: pip install 'lakestack[ray]' (or build it locally)"
        ) from None
    started = not ray.is_initialized()
    if started:
        target = None if address in (None, "ray") else address
        try:
            connect_ray(target)
        except ConnectionError as exc:
            raise FeatureError(
                f"cannot connect to the Ray cluster at {address}: {exc}. Check that it runs and "
                "that its client port is reachable (or build the training set locally)."
            ) from exc
    try:
        task = ray.remote(_join_range).options(num_cpus=1, max_retries=2)
        rows, refs = [], []
        for piece in split.ranges():
            rows.append(piece.rows)
            refs.append(task.remote(*piece.arguments))
        parts: list[TrainingSet] = ray.get(refs)
    finally:
        if started:
            ray.shutdown()
    return split.assemble(rows, parts)
