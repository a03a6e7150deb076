"""Training sets: labels joined to feature tables point in time.

For a label at time t, each lookup takes the latest feature row of the same keys with event time
<= t (and not older than its `max_age`), never a later one, so no value from the label's future
leaks into training. Tables without an event time are joined on their keys. The labels keep
their rows and order; the features are appended as columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from lakestack.errors import FeatureError
from lakestack.features._asof import match_rows
from lakestack.features._data import to_polars
from lakestack.features._spec import FeatureLookup, FeatureSpec
from lakestack.features._tables import FeatureTable, get_feature_table
from lakestack.lake import Filters, Lake

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa

__all__ = ["TrainingSet", "build_training_set", "join_point_in_time"]


@dataclass(frozen=True)
class TrainingSet:
    """Labels with their features, and the spec that produced them.

    Attributes:
        data: the labels' columns followed by the feature columns, one row per label, in the
            labels' order.
        spec: the lookups and the feature table versions read (what a model carries).
        label_columns: the labels' own columns.
    """

    data: pl.DataFrame
    spec: FeatureSpec
    label_columns: tuple[str, ...]

    @property
    def table_versions(self) -> dict[str, int]:
        """The Delta version of each feature table read."""
        return dict(self.spec.table_versions)

    @property
    def feature_columns(self) -> list[str]:
        """The feature columns, in order."""
        return self.spec.feature_columns

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape

    def to_polars(self) -> pl.DataFrame:
        return self.data

    def to_arrow(self) -> pa.Table:
        return self.data.to_arrow()

    def to_pandas(self) -> pd.DataFrame:
        return self.data.to_pandas()


def _stringy(dtype: Any) -> bool:
    import polars as pl

    return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)


def _fix(dtype: Any) -> str:
    import polars as pl

    if dtype.is_integer():
        return "pl.Int64"
    if _stringy(dtype):
        return "pl.String"
    if dtype == pl.Date:
        return "pl.Date"
    if isinstance(dtype, pl.Datetime):
        return f'pl.Datetime("{dtype.time_unit}", "{dtype.time_zone}")'
    return repr(dtype)


def _check_key(
    table: str, label_col: str, key_col: str, labels: pl.DataFrame, features: pl.DataFrame
) -> pl.Series:
    """The label key column, cast to the feature key's type when that is safe."""
    import polars as pl

    left, right = labels.get_column(label_col), features.get_column(key_col)
    lt, rt = left.dtype, right.dtype
    if (lt.is_integer() and rt.is_integer()) or (lt == pl.Boolean and rt == pl.Boolean):
        return left
    if _stringy(lt) and _stringy(rt):
        return left
    if lt == rt and lt.is_temporal():
        return left
    if isinstance(lt, pl.Datetime) and isinstance(rt, pl.Datetime) and lt.time_zone == rt.time_zone:
        return left.cast(rt)
    raise FeatureError(
        f"lookup of {table}: label column {label_col!r} is {lt} but the table's key {key_col!r} "
        f"is {rt}; cast the label column first, e.g. pl.col({label_col!r}).cast({_fix(rt)})"
    )


def _label_time(
    table: str, column: str, labels: pl.DataFrame, feature_time: pl.Series
) -> pl.Series:
    """The label time column, in the feature event time's type and unit."""
    import polars as pl

    if column not in labels.columns:
        raise FeatureError(
            f"lookup of {table}: timestamp_lookup_key {column!r} is not a column of the labels "
            f"(they have {', '.join(labels.columns)}); name the label column holding each label's "
            "time"
        )
    series = labels.get_column(column)
    lt, ft = series.dtype, feature_time.dtype
    if isinstance(lt, pl.Datetime) and isinstance(ft, pl.Datetime):
        if (lt.time_zone is None) != (ft.time_zone is None):
            have = "has no time zone" if lt.time_zone is None else f"is in {lt.time_zone}"
            want = "has none" if ft.time_zone is None else f"is in {ft.time_zone}"
            fix = (
                f'pl.col({column!r}).dt.replace_time_zone("{ft.time_zone}")'
                if ft.time_zone
                else f"pl.col({column!r}).dt.replace_time_zone(None)"
            )
            raise FeatureError(
                f"lookup of {table}: label time column {column!r} {have} but the table's event "
                f"time {want}; make them agree, e.g. {fix}"
            )
        return series.cast(pl.Datetime(ft.time_unit, ft.time_zone))
    if lt == pl.Date and ft == pl.Date:
        return series
    raise FeatureError(
        f"lookup of {table}: label time column {column!r} is {lt} but the table's event time "
        f"{feature_time.name!r} is {ft}; convert it, e.g. pl.col({column!r}).cast({_fix(ft)})"
        + (" or .str.to_datetime()" if _stringy(lt) else "")
    )


def _max_age_units(max_age: timedelta, dtype: Any) -> int:
    import polars as pl

    if dtype == pl.Date:
        return max_age // timedelta(days=1)
    scale = {"ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[dtype.time_unit]
    whole = max_age.days * 86_400 + max_age.seconds
    return whole * scale + max_age.microseconds * scale // 1_000_000


def _resolve(
    lookup: FeatureLookup, table: FeatureTable, labels: pl.DataFrame
) -> tuple[dict[str, str], list[str]]:
    key_map = lookup.key_map(table.primary_keys)
    missing = [c for c in key_map if c not in labels.columns]
    if missing:
        raise FeatureError(
            f"lookup of {table.name}: lookup key column {missing[0]!r} is not in the labels "
            f"(they have {', '.join(labels.columns)}); add it to the labels or map another "
            f"column to the key, e.g. lookup_key={{'<label column>': {key_map[missing[0]]!r}}}"
        )
    features = list(lookup.feature_names) if lookup.feature_names is not None else table.features
    unknown = [f for f in features if f not in table.features]
    if unknown:
        raise FeatureError(
            f"lookup of {table.name}: {unknown[0]!r} is not a feature of the table; its features "
            f"are {', '.join(table.features)}"
        )
    bad_rename = [k for k in lookup.rename if k not in features]
    if bad_rename:
        raise FeatureError(
            f"lookup of {table.name}: rename names {bad_rename[0]!r}, which is not among the "
            f"features looked up ({', '.join(features)})"
        )
    if table.timestamp_key is not None and lookup.timestamp_lookup_key is None:
        raise FeatureError(
            f"lookup of {table.name}: the table has event times ({table.timestamp_key!r}), so "
            "the lookup needs timestamp_lookup_key, the label column with each label's time; "
            "without it, values from after the label would leak into training"
        )
    return key_map, features


def join_point_in_time(
    labels: pl.DataFrame,
    features: pl.DataFrame,
    *,
    key_map: Mapping[str, str],
    timestamp_key: str | None,
    timestamp_lookup_key: str | None,
    max_age: timedelta | None = None,
    table: str = "features",
) -> Any:
    """The feature row index of each label (an int64 NumPy array, -1 where none qualifies).

    Raises:
        FeatureError: key or time columns of incompatible types.
    """
    label_keys = [_check_key(table, lc, kc, labels, features) for lc, kc in key_map.items()]
    feature_keys = [features.get_column(kc) for kc in key_map.values()]
    if timestamp_key is None or timestamp_lookup_key is None:
        return match_rows(label_keys, feature_keys)
    feature_time = features.get_column(timestamp_key)
    label_time = _label_time(table, timestamp_lookup_key, labels, feature_time)
    units = None if max_age is None else _max_age_units(max_age, feature_time.dtype)
    return match_rows(label_keys, feature_keys, label_time, feature_time, units)


_Plan = tuple[FeatureLookup, FeatureTable, dict[str, str], list[str]]
"""A lookup, its table, its key map (label column -> table key) and the features it reads."""


def build_training_set(
    lake: Lake,
    labels: Any,
    lookups: Sequence[FeatureLookup],
    *,
    filters: Mapping[str, Filters] | None = None,
) -> TrainingSet:
    """Join labels to feature tables point in time (see `FeatureStore.build_training_set`).

    Args:
        filters: per feature table, a filter of the rows to read (a key range, when the labels
            were partitioned by it); the labels' matches must all be within it.
    """
    import polars as pl

    frame = to_polars(labels, "labels")
    if frame.height == 0:
        raise FeatureError(
            "the labels are empty: there are no rows to build a training set from; check the "
            "query or filter that produced them"
        )
    if not lookups:
        raise FeatureError("build_training_set needs at least one FeatureLookup")
    tables: dict[str, FeatureTable] = {}
    plans: list[_Plan] = []
    for lookup in lookups:
        name = str(lookup.ref.name)
        table = tables.get(name) or get_feature_table(lake, name)
        tables[name] = table
        key_map, features = _resolve(lookup, table, frame)
        plans.append((lookup, table, key_map, features))
    versions, reads = _read_features(lake, plans, filters or {})

    columns: dict[str, pl.Series] = {}
    types: dict[str, str] = {}
    resolved = []
    for plan in plans:
        lookup, table, key_map, features = plan
        arrow = reads[table.name]
        gathered = _gather(frame, plan, arrow)
        for feature in features:
            out = lookup.output_name(feature)
            if out in frame.columns or out in columns:
                where = "the labels" if out in frame.columns else "another lookup"
                raise FeatureError(
                    f"lookup of {table.name}: feature column {out!r} is also a column of {where}; "
                    f"rename it, e.g. rename={{{feature!r}: '{table.name.split('.')[-1]}_{feature}'}}"
                )
            columns[out] = gathered.get_column(feature).alias(out)
            types[out] = str(arrow.schema.field(feature).type)
        resolved.append(
            FeatureLookup(
                table=table.name,
                lookup_key=key_map,
                feature_names=features,
                rename={f: lookup.output_name(f) for f in features if lookup.output_name(f) != f},
                timestamp_lookup_key=lookup.timestamp_lookup_key if table.timestamp_key else None,
                max_age=lookup.max_age if table.timestamp_key else None,
            )
        )
    feature_data = pl.DataFrame(list(columns.values()))
    spec = FeatureSpec(
        lookups=tuple(resolved),
        table_versions=versions,
        columns=tuple(types.items()),
    )
    return TrainingSet(
        data=frame.hstack(feature_data), spec=spec, label_columns=tuple(frame.columns)
    )


def _read_features(
    lake: Lake, plans: list[_Plan], filters: Mapping[str, Filters]
) -> tuple[dict[str, int], dict[str, pa.Table]]:
    """Each table's version, and its rows read once (at its pin, or its latest version) with
    every column the lookups need.

    Raises:
        FeatureError: two lookups pin one table at different versions.
    """
    versions: dict[str, int] = {}
    tables: dict[str, FeatureTable] = {}
    for lookup, table, _, _ in plans:
        version = lookup.ref.version if lookup.ref.version is not None else table.version
        previous = versions.setdefault(table.name, version)
        tables[table.name] = table
        if previous != version:
            raise FeatureError(
                f"two lookups read {table.name} at different versions ({previous} and {version}); "
                "a training set reads one version of each table"
            )
    reads: dict[str, pa.Table] = {}
    for name, version in versions.items():
        table = tables[name]
        needed: dict[str, None] = dict.fromkeys(table.primary_keys)
        if table.timestamp_key:
            needed[table.timestamp_key] = None
        for _, t, _, features in plans:
            if t.name == name:
                needed.update(dict.fromkeys(features))
        subset = filters.get(name)
        reads[name] = lake.read(name, columns=list(needed), version=version, filters=subset)
    return versions, reads


def _gather(frame: pl.DataFrame, plan: _Plan, arrow: pa.Table) -> pl.DataFrame:
    """The lookup's feature columns, one row per label: the point-in-time match, null where
    no feature row qualifies."""
    import numpy as np
    import polars as pl

    lookup, table, key_map, features = plan
    keyed = [*table.primary_keys, *([table.timestamp_key] if table.timestamp_key else [])]
    feature_frame = pl.from_arrow(arrow.select(keyed))
    assert isinstance(feature_frame, pl.DataFrame)
    rows = join_point_in_time(
        frame,
        feature_frame,
        key_map=key_map,
        timestamp_key=table.timestamp_key,
        timestamp_lookup_key=lookup.timestamp_lookup_key,
        max_age=lookup.max_age,
        table=table.name,
    )
    # Polars gathers the columns in parallel (Arrow's take, one column after another, cost
    # 4 s of CPU on 10M rows x 5 features), from contiguous columns: a Delta read comes in
    # dozens of chunks, and a random gather across chunks cost twice the copy that joins them.
    # The rows without a match are nulled afterwards: a gather by an index with nulls cost
    # twice one without.
    source = pl.from_arrow(arrow.select(features))
    assert isinstance(source, pl.DataFrame)
    missing = rows < 0
    if source.height == 0:
        return source.clear(len(rows))
    take = pl.Series(np.where(missing, 0, rows))
    gathered = source.rechunk().select(pl.all().gather(take))
    if not missing.any():
        return gathered
    return gathered.select(pl.when(pl.Series(~missing)).then(pl.all()))
