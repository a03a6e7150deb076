"""Publish feature tables to an online store, look keys up, and check online against offline.

`publish` writes the latest row per key. It records the Delta version it published; the next
publish reads that version again (time travel) and the current one, and writes only the keys
whose latest row differs (deleting keys that disappeared), so a publish with no new data writes
nothing. When the old version cannot be read (vacuumed), the layout changed, or `full` is
asked, the table is replaced whole.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakestack.errors import FeatureError, LakeError
from lakestack.features._data import to_arrow
from lakestack.features._online import OnlineStore, PublishState, schema_fingerprint
from lakestack.features._spec import FeatureSpec
from lakestack.features._tables import FeatureTable, get_feature_table
from lakestack.lake import Lake

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

__all__ = [
    "CheckResult",
    "Mismatch",
    "PublishResult",
    "check_online",
    "latest_per_key",
    "lookup_online",
    "publish_table",
]


@dataclass(frozen=True)
class PublishResult:
    """What a publish did.

    Attributes:
        table: the feature table.
        store: the online store's URI.
        version: the Delta version now published.
        previous_version: the version published before, or None.
        keys_written: keys written (new or changed).
        keys_deleted: keys removed (no longer in the table).
        keys_total: keys now in the online store.
        full: whether the whole table was (re)written.
        seconds: how long it took.
    """

    table: str
    store: str
    version: int
    previous_version: int | None
    keys_written: int
    keys_deleted: int
    keys_total: int
    full: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Mismatch:
    """One value that differs between the online store and the offline table."""

    key: dict[str, Any]
    column: str
    offline: Any
    online: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "column": self.column,
            "offline": self.offline,
            "online": self.online,
        }


@dataclass(frozen=True)
class CheckResult:
    """A comparison of a sample of online rows with the offline table's latest rows.

    Attributes:
        table: the feature table.
        offline_version: the Delta version compared against.
        published_version: the version the online store says it holds (None: unpublished).
        sampled: how many keys were compared.
        missing: keys absent from the online store.
        mismatches: values that differ (at most `limit` of them are kept).
        mismatched_keys: how many sampled keys have at least one differing value.
    """

    table: str
    offline_version: int
    published_version: int | None
    sampled: int
    missing: list[dict[str, Any]] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    mismatched_keys: int = 0

    @property
    def passed(self) -> bool:
        """True when every sampled key is online with the offline values."""
        return not self.missing and not self.mismatched_keys

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "passed": self.passed,
            "offline_version": self.offline_version,
            "published_version": self.published_version,
            "sampled": self.sampled,
            "missing": self.missing,
            "mismatched_keys": self.mismatched_keys,
            "mismatches": [m.to_dict() for m in self.mismatches],
        }


def latest_per_key(frame: pl.DataFrame, table: FeatureTable) -> pl.DataFrame:
    """The latest row of each key (by event time), keys first; rows with null keys dropped."""
    keys = list(table.primary_keys)
    order = [*keys, *([table.timestamp_key] if table.timestamp_key else [])]
    frame = frame.select([*order, *[c for c in frame.columns if c not in order]])
    frame = frame.drop_nulls(keys)
    if table.timestamp_key:
        frame = frame.sort(table.timestamp_key, nulls_last=False, maintain_order=True)
    return frame.unique(keys, keep="last", maintain_order=False).sort(keys)


def _read_latest(lake: Lake, table: FeatureTable, version: int) -> pl.DataFrame:
    import polars as pl

    frame = pl.from_arrow(lake.read(table.name, version=version))
    assert isinstance(frame, pl.DataFrame)
    return latest_per_key(frame, table)


def _changed(new: pl.DataFrame, old: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The rows of `new` that are not in `old` exactly (new keys and changed values)."""
    import polars as pl

    try:
        return new.join(old, on=new.columns, how="anti", nulls_equal=True)
    except pl.exceptions.PolarsError:  # columns a join cannot compare (nested): row hashes
        hashed_new = new.select(keys).with_columns(new.hash_rows(seed=7).alias("__h"))
        hashed_old = old.select(keys).with_columns(old.hash_rows(seed=7).alias("__h"))
        same = hashed_new.join(hashed_old, on=[*keys, "__h"], how="semi", nulls_equal=True)
        return new.join(same.select(keys), on=keys, how="anti", nulls_equal=True)


def publish_table(
    lake: Lake, store: OnlineStore, name: str, *, full: bool = False
) -> PublishResult:
    """Publish the latest row per key of a feature table (see `FeatureStore.publish`)."""
    started = time.perf_counter()
    table = get_feature_table(lake, name)
    version = table.version
    state = store.state(table.name)
    new = _read_latest(lake, table, version)
    arrow = new.to_arrow()
    keys = list(table.primary_keys)
    fingerprint = schema_fingerprint(arrow.schema, keys)
    new_state = PublishState(
        table=table.name,
        version=version,
        keys=tuple(keys),
        timestamp_key=table.timestamp_key,
        schema=arrow.schema,
        rows=new.height,
        published_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    previous = state.version if state else None

    def result(written: int, deleted: int, whole: bool) -> PublishResult:
        return PublishResult(
            table=table.name,
            store=store.uri,
            version=version,
            previous_version=previous,
            keys_written=written,
            keys_deleted=deleted,
            keys_total=new.height,
            full=whole,
            seconds=time.perf_counter() - started,
        )

    incremental = (
        not full
        and state is not None
        and state.fingerprint == fingerprint
        and state.version <= version
    )
    if incremental and state is not None and state.version == version:
        return result(0, 0, False)
    old = None
    if incremental and state is not None:
        try:
            old = _read_latest(lake, table, state.version)
        except LakeError:
            old = None  # that version is gone (vacuumed): publish everything
    if old is None or old.schema != new.schema:
        store.replace(new_state, arrow)
        return result(new.height, 0, True)
    changed = _changed(new, old, keys)
    deleted = old.select(keys).join(new.select(keys), on=keys, how="anti", nulls_equal=True)
    store.write(new_state, changed.to_arrow(), deleted.to_arrow() if deleted.height else None)
    return result(changed.height, deleted.height, False)


def _key_table(keys: Any, columns: Sequence[str], what: str) -> pa.Table:
    """The request keys as an Arrow table with (at least) `columns`."""
    import pyarrow as pa

    if isinstance(keys, list) and keys and not isinstance(keys[0], dict):
        if len(columns) != 1:
            raise FeatureError(
                f"lookup of {what}: its keys are {list(columns)}; pass rows as dicts "
                "(or a table) with those columns, not bare values"
            )
        return pa.table({columns[0]: keys})
    table = to_arrow(keys, "keys")
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise FeatureError(
            f"lookup of {what}: key column {missing[0]!r} is missing from the request (it has "
            f"{', '.join(table.column_names) or 'no columns'}); send every key: {list(columns)}"
        )
    return table


def _cast_keys(state: PublishState, keys: pa.Table, names: dict[str, str]) -> pa.Table:
    """The request's key columns (named `names[key]` in the request) cast to the stored types."""
    import pyarrow as pa

    columns = []
    for key in state.keys:
        source = names.get(key, key)
        column = keys.column(source)
        target = state.schema.field(key).type
        try:
            columns.append(column.cast(target) if column.type != target else column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise FeatureError(
                f"lookup of {state.table}: key column {source!r} is {column.type} but the online "
                f"key {key!r} is {target}; send values of that type ({exc})"
            ) from None
    return pa.table(columns, names=list(state.keys))


def lookup_online(
    store: OnlineStore,
    target: FeatureSpec | str,
    keys: Any,
    *,
    at: datetime | None = None,
) -> pa.Table:
    """Look keys up (see `FeatureStore.lookup`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(target, str):
        state = _state(store, target)
        request = _key_table(keys, state.keys, target)
        asked = _cast_keys(state, request, {})
        row = store.read([(target, asked)])[0]
        # the keys asked for (in the stored types), also where nothing was found
        return pa.table(
            [asked.column(k) if k in state.keys else row.column(k) for k in row.column_names],
            schema=row.schema,
        )
    spec = target
    request = _key_table(keys, spec.key_columns, "the feature spec")
    states = [_state(store, lookup.table) for lookup in spec.lookups]
    asks = []
    for lookup, state in zip(spec.lookups, states, strict=True):
        assert isinstance(lookup.lookup_key, dict)
        names = {key: label for label, key in lookup.lookup_key.items()}
        asks.append((lookup.table, _cast_keys(state, request, names)))
    rows = store.read(asks)
    out: dict[str, Any] = {c: request.column(c) for c in spec.key_columns}
    now = at or datetime.now(UTC)
    for lookup, state, row in zip(spec.lookups, states, rows, strict=True):
        stale = None
        if lookup.max_age is not None and state.timestamp_key:
            event = row.column(state.timestamp_key)
            oldest = _moment(now - lookup.max_age, event.type)
            stale = pc.fill_null(pc.less(event, pa.scalar(oldest, event.type)), False)
        for feature in lookup.feature_names or []:
            column = row.column(feature)
            if stale is not None:
                column = pc.if_else(stale, pa.nulls(len(column), column.type), column)
            out[lookup.output_name(feature)] = column
    return pa.table(out)


def _moment(moment: datetime, t: pa.DataType) -> Any:
    import pyarrow as pa

    if pa.types.is_date(t):
        return moment.date()
    if t.tz is None:
        return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _state(store: OnlineStore, table: str) -> PublishState:
    state = store.state(table, cached=True)
    if state is None:
        raise FeatureError(
            f"feature table {table} is not published to the online store {store.uri}; run "
            f"`lakestack features publish {table}`"
        )
    return state


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def check_online(
    lake: Lake, store: OnlineStore, name: str, *, sample: int = 1000, seed: int = 0, limit: int = 20
) -> CheckResult:
    """Compare a sample of online rows with the offline table (see `FeatureStore.check`)."""
    table = get_feature_table(lake, name)
    state = store.state(table.name)
    latest = _read_latest(lake, table, table.version)
    picked = latest.sample(min(sample, latest.height), seed=seed) if latest.height else latest
    keys = list(table.primary_keys)
    if state is None:
        return CheckResult(
            table=table.name,
            offline_version=table.version,
            published_version=None,
            sampled=picked.height,
            missing=picked.select(keys).to_dicts(),
        )
    online = store.read([(table.name, _cast_keys(state, picked.select(keys).to_arrow(), {}))])[0]
    offline_rows = picked.to_dicts()
    online_columns = set(online.column_names)
    online_rows = online.to_pylist()
    missing: list[dict[str, Any]] = []
    mismatches: list[Mismatch] = []
    bad = 0
    for off, on in zip(offline_rows, online_rows, strict=True):
        key = {k: off[k] for k in keys}
        if all(on[k] is None for k in keys):
            missing.append(key)
            continue
        differs = False
        for column, value in off.items():
            online_value = on.get(column) if column in online_columns else "<not published>"
            if not _same(value, online_value):
                differs = True
                if len(mismatches) < limit:
                    mismatches.append(Mismatch(key, column, value, online_value))
        bad += differs
    return CheckResult(
        table=table.name,
        offline_version=table.version,
        published_version=state.version,
        sampled=picked.height,
        missing=missing,
        mismatches=mismatches,
        mismatched_keys=bad,
    )
