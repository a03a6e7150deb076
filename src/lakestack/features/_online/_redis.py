"""The production online store: Redis, one string per key, fetched with MGET.

Layout under a key prefix (`?prefix=` in the URI, else `lakestack:<namespace>:`):

- `<prefix>row:<table>:<key>`: one row, the JSON list `[fingerprint, value, ...]` in the order of
  the published schema; `<key>` is the JSON list of the row's key values (so `1` and `"1"` are
  different keys and no separator can clash).
- `<prefix>state:<table>`: the table's `PublishState` (schema, keys, version), JSON.
- `<prefix>tables`: the set of published tables.

A lookup of many keys of several tables is one pipeline (one MGET per table): one round trip.
The schema comes from the state, cached for a few seconds; a row whose fingerprint differs from
the cached state's refreshes it (a republish changed the layout).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lakestack.errors import FeatureError
from lakestack.features._online._base import PublishState, published_state
from lakestack.features._online._codec import decode_column, encode_column

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["RedisOnlineStore"]

_CHUNK = 2_000
_STATE_TTL = 5.0


def _glob_escape(text: bytes) -> bytes:
    out = bytearray()
    for byte in text:
        if byte in b"*?[]\\":
            out += b"\\"
        out.append(byte)
    return bytes(out)


class RedisOnlineStore:
    """The online store in Redis (`redis://host:6379/0?prefix=myproject:`)."""

    def __init__(self, uri: str, namespace: str = "") -> None:
        try:
            import redis
        except ImportError:
            raise FeatureError(
                f"online store {uri}: the redis client is not installed; install lakestack[redis]"
            ) from None

        parts = urlsplit(uri)
        query = dict(parse_qsl(parts.query))
        prefix = query.pop("prefix", None)
        if prefix is None:
            prefix = f"lakestack:{namespace}:" if namespace else "lakestack:"
        self.uri = uri
        self.prefix = prefix.encode()
        clean = urlunsplit(parts._replace(query=urlencode(query)))
        try:
            self._redis = redis.Redis.from_url(clean, socket_timeout=10)
            self._redis.ping()
        except redis.RedisError as exc:
            raise FeatureError(
                f"cannot reach the online store {uri}: {exc}. Start Redis, or check the URI in "
                "environments.<env>.online_store"
            ) from exc
        self._cache: dict[str, tuple[float, PublishState]] = {}

    def _row_key(self, table: str, key: bytes) -> bytes:
        return self.prefix + b"row:" + table.encode() + b":" + key

    def _state_key(self, table: str) -> bytes:
        return self.prefix + b"state:" + table.encode()

    # -- state ------------------------------------------------------------------------------

    def state(self, table: str, *, cached: bool = False) -> PublishState | None:
        hit = self._cache.get(table)
        if cached and hit and time.monotonic() - hit[0] < _STATE_TTL:
            return hit[1]
        raw = self._redis.get(self._state_key(table))
        if raw is None:
            self._cache.pop(table, None)
            return None
        state = PublishState.from_json(raw)
        self._cache[table] = (time.monotonic(), state)
        return state

    def tables(self) -> list[str]:
        members: Any = self._redis.smembers(self.prefix + b"tables")
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

    # -- writes -----------------------------------------------------------------------------

    def _keys(self, state: PublishState, rows: pa.Table) -> list[bytes]:
        import orjson

        columns = [encode_column(rows.column(k), binary_as_text=True) for k in state.keys]
        return [
            self._row_key(state.table, orjson.dumps(list(values)))
            for values in zip(*columns, strict=True)
        ]

    def _rows(self, state: PublishState, rows: pa.Table) -> Iterator[tuple[bytes, bytes]]:
        import orjson

        keys = self._keys(state, rows)
        columns = [encode_column(rows.column(n), binary_as_text=True) for n in state.schema.names]
        fingerprint = state.fingerprint
        for key, values in zip(keys, zip(*columns, strict=True), strict=True):
            yield key, orjson.dumps([fingerprint, *values])

    def _mset(self, state: PublishState, rows: pa.Table) -> set[bytes]:
        written: set[bytes] = set()
        batch: dict[bytes, bytes] = {}
        pipe = self._redis.pipeline(transaction=False)
        for key, value in self._rows(state, rows):
            batch[key] = value
            if len(batch) >= _CHUNK:
                pipe.mset(batch)  # type: ignore[arg-type]
                written.update(batch)
                batch = {}
                if len(pipe) >= 10:
                    pipe.execute()
        if batch:
            pipe.mset(batch)  # type: ignore[arg-type]
            written.update(batch)
        pipe.execute()
        return written

    def _record(self, state: PublishState) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(self._state_key(state.table), state.to_json())
        pipe.sadd(self.prefix + b"tables", state.table)
        pipe.execute()
        self._cache[state.table] = (time.monotonic(), state)

    def write(self, state: PublishState, rows: pa.Table, deleted: pa.Table | None = None) -> None:
        self._mset(state, rows)
        if deleted is not None and deleted.num_rows:
            keys = self._keys(state, deleted)
            for start in range(0, len(keys), _CHUNK):
                self._redis.delete(*keys[start : start + _CHUNK])
        self._record(state)

    def _scan_rows(self, table: str) -> Iterator[bytes]:
        pattern = _glob_escape(self.prefix + b"row:" + table.encode() + b":") + b"*"
        yield from self._redis.scan_iter(match=pattern, count=5_000)

    def replace(self, state: PublishState, rows: pa.Table) -> None:
        written = self._mset(state, rows)
        stale = [key for key in self._scan_rows(state.table) if key not in written]
        for start in range(0, len(stale), _CHUNK):
            self._redis.delete(*stale[start : start + _CHUNK])
        self._record(state)

    def drop(self, table: str) -> None:
        keys = list(self._scan_rows(table))
        for start in range(0, len(keys), _CHUNK):
            self._redis.delete(*keys[start : start + _CHUNK])
        self._redis.delete(self._state_key(table))
        self._redis.srem(self.prefix + b"tables", table)
        self._cache.pop(table, None)

    # -- reads ------------------------------------------------------------------------------

    def read(self, requests: Sequence[tuple[str, pa.Table]]) -> list[pa.Table]:
        states = [published_state(self, table) for table, _ in requests]
        keys = [self._keys(state, k) for state, (_, k) in zip(states, requests, strict=True)]
        if len(requests) == 1:
            results: list[Any] = [self._redis.mget(keys[0]) if keys[0] else []]
        else:
            pipe = self._redis.pipeline(transaction=False)
            for batch in keys:
                if batch:
                    pipe.mget(batch)
                else:
                    pipe.echo(b"")
            results = [r if k else [] for r, k in zip(pipe.execute(), keys, strict=True)]
        return [
            self._decode(table, state, raw)
            for (table, _), state, raw in zip(requests, states, results, strict=True)
        ]

    def _decode(self, table: str, state: PublishState, raw: list[bytes | None]) -> pa.Table:
        import orjson
        import pyarrow as pa

        width = len(state.schema)
        rows = [orjson.loads(r) if r is not None else None for r in raw]
        if any(r is not None and r[0] != state.fingerprint for r in rows):
            state = self.state(table) or state  # the layout changed under us: re-read it
        empty = [None] * width
        fingerprint = state.fingerprint
        values = [r[1:] if r is not None and r[0] == fingerprint else empty for r in rows]
        columns = list(zip(*values, strict=True)) if values else [() for _ in range(width)]
        return pa.table(
            [
                decode_column(list(column), field.type, binary_as_text=True)
                for column, field in zip(columns, state.schema, strict=True)
            ],
            schema=state.schema,
        )

    def close(self) -> None:
        self._redis.close()
