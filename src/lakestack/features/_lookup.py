"""Look keys up in the online store, by table or through a model's feature spec.

A spec's lookup with a `max_age` nulls values older than the request's time minus `max_age`, as
the training set did. The time is one moment for the whole request (default: now) or one per
key (replaying historical traffic, each row judged at its own time). Naive times are UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from lakestack.errors import FeatureError
from lakestack.features._data import to_arrow
from lakestack.features._online._base import OnlineStore, PublishState, published_state
from lakestack.features._spec import FeatureSpec

if TYPE_CHECKING:
    import numpy as np
    import polars as pl
    import pyarrow as pa

__all__ = ["RequestTimes", "cast_keys", "lookup_online", "moment"]

# One time for the whole request, or one per key: a list of datetimes (None: now), or an Arrow
# array, a NumPy array or a Polars (or pandas) series of timestamps.
RequestTimes: TypeAlias = (
    "datetime | Sequence[datetime | None] | pa.Array | pa.ChunkedArray | np.ndarray[Any, Any] "
    "| pl.Series"
)

_UTC_US = "us"


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


def cast_keys(state: PublishState, keys: pa.Table, names: dict[str, str]) -> pa.Table:
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
    at: RequestTimes | None = None,
) -> pa.Table:
    """Look keys up (see `FeatureStore.lookup`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(target, str):
        state = published_state(store, target)
        request = _key_table(keys, state.keys, target)
        asked = cast_keys(state, request, {})
        row = store.read([(target, asked)])[0]
        # the keys asked for (in the stored types), also where nothing was found
        return pa.table(
            [asked.column(k) if k in state.keys else row.column(k) for k in row.column_names],
            schema=row.schema,
        )
    spec = target
    request = _key_table(keys, spec.key_columns, "the feature spec")
    times = _request_times(at, request.num_rows)
    states = [published_state(store, lookup.table) for lookup in spec.lookups]
    asks = []
    for lookup, state in zip(spec.lookups, states, strict=True):
        assert isinstance(lookup.lookup_key, dict)
        names = {key: label for label, key in lookup.lookup_key.items()}
        asks.append((lookup.table, cast_keys(state, request, names)))
    rows = store.read(asks)
    out: dict[str, Any] = {c: request.column(c) for c in spec.key_columns}
    for lookup, state, row in zip(spec.lookups, states, rows, strict=True):
        stale = None
        if lookup.max_age is not None and state.timestamp_key:
            stale = _stale(row.column(state.timestamp_key), times, lookup.max_age)
        for feature in lookup.feature_names or []:
            column = row.column(feature)
            if stale is not None:
                column = pc.if_else(stale, pa.nulls(len(column), column.type), column)
            out[lookup.output_name(feature)] = column
    return pa.table(out)


def _stale(event: pa.ChunkedArray, times: datetime | pa.Array, max_age: Any) -> Any:
    """Where the event time is older than the request's time minus `max_age` (never null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(times, datetime):
        oldest = pa.scalar(moment(times - max_age, event.type), event.type)
        return pc.fill_null(pc.less(event, oldest), False)
    limits = pc.subtract(times, pa.scalar(max_age, pa.duration(_UTC_US)))
    if pa.types.is_date(event.type):
        return pc.fill_null(pc.less(event, pc.cast(limits, event.type)), False)
    # naive event times are UTC: the cast to a UTC type keeps their values
    instants = pc.cast(event, pa.timestamp(_UTC_US, tz="UTC"), safe=False)
    return pc.fill_null(pc.less(instants, limits), False)


def _request_times(at: RequestTimes | None, rows: int) -> datetime | pa.Array:
    """`at` as one aware datetime, or as a UTC timestamp array of `rows` values (nulls: now).

    Raises:
        FeatureError: not datetimes, or not one per key.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    now = datetime.now(UTC)
    if at is None:
        return now
    if isinstance(at, datetime):
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    utc = pa.timestamp(_UTC_US, tz="UTC")
    if isinstance(at, Sequence) and not isinstance(at, (str, bytes)):
        values = [_utc(value, i) for i, value in enumerate(at)]
        times: Any = pa.array(values, utc)
    else:
        if hasattr(at, "to_arrow"):  # a Polars series
            at = at.to_arrow()
        try:
            times = at if isinstance(at, (pa.Array, pa.ChunkedArray)) else pa.array(at)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
            raise FeatureError(f"lookup: `at` is not an array of times ({exc})") from None
        if isinstance(times, pa.ChunkedArray):
            times = times.combine_chunks()
        if pa.types.is_date(times.type):
            times = pc.cast(times, pa.timestamp(_UTC_US))
        if not pa.types.is_timestamp(times.type):
            raise FeatureError(
                f"lookup: `at` holds {times.type} values; pass one datetime, or one timestamp "
                "per key"
            )
        times = pc.cast(times, utc, safe=False)  # naive values are UTC: the cast keeps them
    if len(times) != rows:
        raise FeatureError(
            f"lookup: `at` has {len(times)} times for {rows} keys; pass one datetime, or one "
            "time per key"
        )
    result: pa.Array = pc.fill_null(times, pa.scalar(now, utc))
    return result


def _utc(value: Any, row: int) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise FeatureError(
        f"lookup: `at` row {row} is {type(value).__name__} {value!r}; pass datetimes"
    )


def moment(value: datetime, t: pa.DataType) -> Any:
    """`value` as a Python value comparable with an Arrow column of type `t` (naive = UTC)."""
    import pyarrow as pa

    if pa.types.is_date(t):
        return value.date()
    if t.tz is None:
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return value if value.tzinfo else value.replace(tzinfo=UTC)
