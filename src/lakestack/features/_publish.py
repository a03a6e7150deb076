"""Publish feature tables to an online store, and check online against offline.

`publish` writes the latest row per key. It records the Delta version it published; the next
publish reads that version again (time travel) and the current one, and writes only the keys
whose latest row differs (deleting keys that disappeared), so a publish with no new data writes
nothing. When the old version cannot be read (vacuumed), the layout changed, or `full` is
asked, the table is replaced whole.

A publish `as_of` a moment writes each key's latest row with an event time at or before it (to
replay history). The next one, at a later moment on the same version and layout, reads only the
rows between the two moments (a filtered Delta read) and upserts their latest row per key, so a
replay that publishes every simulated hour reads an hour of rows each time. Anything else (a new
version, an earlier moment, a publish without `as_of` after one with it) replaces the table.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakestack.errors import FeatureError, LakeError
from lakestack.features._lookup import cast_keys, moment
from lakestack.features._online._base import OnlineStore, PublishState, schema_fingerprint
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
        as_of: the moment published as of (UTC), or None: the latest rows.
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
    as_of: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "as_of": None if self.as_of is None else self.as_of.isoformat()}


@dataclass(frozen=True)
class Mismatch:
    """One value that differs between the online store and the offline table."""

    key: dict[str, Any]
    column: str
    offline: Any
    online: Any

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


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
        return {**asdict(self), "passed": self.passed}


def latest_per_key(frame: pl.DataFrame, table: FeatureTable) -> pl.DataFrame:
    """The latest row of each key (by event time), keys first; rows with null keys dropped."""
    keys = list(table.primary_keys)
    order = [*keys, *([table.timestamp_key] if table.timestamp_key else [])]
    frame = frame.select([*order, *[c for c in frame.columns if c not in order]])
    frame = frame.drop_nulls(keys)
    if table.timestamp_key:
        frame = frame.sort(table.timestamp_key, nulls_last=False, maintain_order=True)
    return frame.unique(keys, keep="last", maintain_order=False).sort(keys)


def _read_latest(
    lake: Lake,
    table: FeatureTable,
    version: int,
    *,
    after: datetime | None = None,
    until: datetime | None = None,
) -> pl.DataFrame:
    """The latest row per key of a version, among the rows with `after < event time <= until`
    when those are given (pushed down into the Delta read)."""
    import polars as pl

    filters: list[tuple[str, str, Any]] = []
    if table.timestamp_key and (after is not None or until is not None):
        event = table.timestamp_key
        assert table.schema is not None
        t = table.schema.field(event).type
        if after is not None:
            filters.append((event, ">", moment(after, t)))
        if until is not None:
            filters.append((event, "<=", moment(until, t)))
    frame = pl.from_arrow(lake.read(table.name, version=version, filters=filters or None))
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
    lake: Lake,
    store: OnlineStore,
    name: str,
    *,
    full: bool = False,
    as_of: datetime | None = None,
) -> PublishResult:
    """Publish the latest row per key of a feature table (see `FeatureStore.publish`)."""
    started = time.perf_counter()
    table = get_feature_table(lake, name)
    if as_of is not None:
        if not table.timestamp_key:
            raise FeatureError(
                f"feature table {table.name} has no event time (timestamp_key): it keeps one row "
                f"per key, so it cannot be published as of {as_of.isoformat()}; publish it "
                "without as_of"
            )
        as_of = as_of.astimezone(UTC) if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    publication = _Publication(lake, store, table, as_of, started)
    return publication.as_of_rows(full) if as_of is not None else publication.latest_rows(full)


class _Publication:
    """One publish of one feature table's current version: what the store holds, and how to
    bring it to the version's rows (incrementally when it can)."""

    def __init__(
        self,
        lake: Lake,
        store: OnlineStore,
        table: FeatureTable,
        as_of: datetime | None,
        started: float,
    ) -> None:
        self.lake, self.store, self.table, self.as_of = lake, store, table, as_of
        self.started = started
        self.version = table.version
        self.state = store.state(table.name)
        self.keys = list(table.primary_keys)

    def new_state(self, arrow_schema: pa.Schema, rows: int) -> PublishState:
        """What the store will hold after this publish."""
        return PublishState(
            table=self.table.name,
            version=self.version,
            keys=tuple(self.keys),
            timestamp_key=self.table.timestamp_key,
            schema=arrow_schema,
            rows=rows,
            published_at=datetime.now(UTC).isoformat(timespec="seconds"),
            as_of=self.as_of,
        )

    def result(self, written: int, deleted: int, total: int, whole: bool) -> PublishResult:
        return PublishResult(
            table=self.table.name,
            store=self.store.uri,
            version=self.version,
            previous_version=self.state.version if self.state else None,
            keys_written=written,
            keys_deleted=deleted,
            keys_total=total,
            full=whole,
            seconds=time.perf_counter() - self.started,
            as_of=self.as_of,
        )

    def as_of_rows(self, full: bool) -> PublishResult:
        """Each key's latest row at or before `as_of`: only the rows since the previous moment
        when the store holds this version as of an earlier one, else the table whole."""
        as_of, state = self.as_of, self.state
        assert as_of is not None
        if (
            not full
            and state is not None
            and state.as_of is not None
            and state.version == self.version
            and state.as_of <= as_of
        ):
            if state.as_of == as_of:
                return self.result(0, 0, state.rows, False)
            window = _read_latest(
                self.lake, self.table, self.version, after=state.as_of, until=as_of
            )
            arrow = window.to_arrow()
            if schema_fingerprint(arrow.schema, self.keys) == state.fingerprint:
                keys = arrow.select(self.keys)
                added = _new_keys(self.store, self.table.name, keys) if window.height else 0
                self.store.write(self.new_state(arrow.schema, state.rows + added), arrow)
                return self.result(window.height, 0, state.rows + added, False)
        new = _read_latest(self.lake, self.table, self.version, until=as_of)
        arrow = new.to_arrow()
        self.store.replace(self.new_state(arrow.schema, new.height), arrow)
        return self.result(new.height, 0, new.height, True)

    def latest_rows(self, full: bool) -> PublishResult:
        """Each key's latest row: only the keys that changed since the published version when
        it can still be read and has the same layout, else the table whole."""
        state, keys = self.state, self.keys
        new = _read_latest(self.lake, self.table, self.version)
        arrow = new.to_arrow()
        new_state = self.new_state(arrow.schema, new.height)
        incremental = (
            not full
            and state is not None
            and state.as_of is None  # an as-of publish holds other rows than the diff assumes
            and state.fingerprint == new_state.fingerprint
            and state.version <= self.version
        )
        if incremental and state is not None and state.version == self.version:
            return self.result(0, 0, new.height, False)
        old = None
        if incremental and state is not None:
            try:
                old = _read_latest(self.lake, self.table, state.version)
            except LakeError:
                old = None  # that version is gone (vacuumed): publish everything
        if old is None or old.schema != new.schema:
            self.store.replace(new_state, arrow)
            return self.result(new.height, 0, new.height, True)
        changed = _changed(new, old, keys)
        deleted = old.select(keys).join(new.select(keys), on=keys, how="anti", nulls_equal=True)
        removed = deleted.to_arrow() if deleted.height else None
        self.store.write(new_state, changed.to_arrow(), removed)
        return self.result(changed.height, deleted.height, new.height, False)


def _new_keys(store: OnlineStore, table: str, keys: pa.Table) -> int:
    """How many of `keys` (an Arrow table in the stored types) the online store lacks."""
    import pyarrow.compute as pc

    found = store.read([(table, keys)])[0]
    absent = pc.is_null(found.column(keys.column_names[0]))
    return int(pc.sum(absent).as_py() or 0)


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
    # an as-of publish holds the latest rows at that moment: compare with those
    latest = _read_latest(lake, table, table.version, until=state.as_of if state else None)
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
    online = store.read([(table.name, cast_keys(state, picked.select(keys).to_arrow(), {}))])[0]
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
