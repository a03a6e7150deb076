"""The online store protocol, the state of a published table, and the registry of backends."""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from lakestack.errors import FeatureError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "OnlineStore",
    "PublishState",
    "not_published",
    "open_online_store",
    "published_state",
    "register_online_store",
    "schema_fingerprint",
]


def schema_fingerprint(schema: pa.Schema, keys: Sequence[str]) -> str:
    """A short hash of the column names, types and keys: rows of one layout share it."""
    text = json.dumps([[f.name, str(f.type)] for f in schema] + [list(keys)])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class PublishState:
    """What the online store holds of one feature table.

    Attributes:
        table: the feature table, `schema.table`.
        version: the Delta version published.
        keys: the primary key columns.
        timestamp_key: the event-time column (its value is stored with each row), or None.
        schema: the Arrow schema of the stored rows (keys first).
        rows: how many keys are stored.
        published_at: when (ISO 8601, UTC).
        as_of: the moment the rows were published as of (UTC): each key's latest row with an
            event time at or before it; None: the latest rows.
    """

    table: str
    version: int
    keys: tuple[str, ...]
    timestamp_key: str | None
    schema: pa.Schema
    rows: int
    published_at: str
    as_of: datetime | None = None

    @functools.cached_property
    def fingerprint(self) -> str:
        """The layout's fingerprint (`schema_fingerprint`), computed once."""
        return schema_fingerprint(self.schema, self.keys)

    def to_json(self) -> str:
        return json.dumps(
            {
                "table": self.table,
                "version": self.version,
                "keys": list(self.keys),
                "timestamp_key": self.timestamp_key,
                "schema": base64.b64encode(self.schema.serialize().to_pybytes()).decode(),
                "rows": self.rows,
                "published_at": self.published_at,
                "as_of": None if self.as_of is None else self.as_of.isoformat(),
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> PublishState:
        import pyarrow as pa

        doc = json.loads(text)
        as_of = doc.get("as_of")  # absent from states written before as-of publishes
        return cls(
            table=doc["table"],
            version=int(doc["version"]),
            keys=tuple(doc["keys"]),
            timestamp_key=doc.get("timestamp_key"),
            schema=pa.ipc.read_schema(pa.py_buffer(base64.b64decode(doc["schema"]))),
            rows=int(doc["rows"]),
            published_at=doc["published_at"],
            as_of=None if as_of is None else datetime.fromisoformat(as_of),
        )


class OnlineStore(Protocol):
    """A key-value store of the latest feature row per key.

    Rows are Arrow tables whose first columns are the keys (`PublishState.keys`). A store keeps
    the rows of each table and its `PublishState`; `read` fetches many keys of several tables in
    one round trip, with the Arrow types of the published schema.
    """

    uri: str

    def state(self, table: str, *, cached: bool = False) -> PublishState | None:
        """What is published of `table`, or None.

        Args:
            cached: a copy this process read recently is good enough (lookups use it, so that
                a lookup is one round trip).
        """
        ...

    def tables(self) -> list[str]:
        """The tables published, sorted."""
        ...

    def write(self, state: PublishState, rows: pa.Table, deleted: pa.Table | None = None) -> None:
        """Upsert `rows` (and delete the keys in `deleted`), then record `state`."""
        ...

    def replace(self, state: PublishState, rows: pa.Table) -> None:
        """Replace every row of the table by `rows` (layout changes), then record `state`."""
        ...

    def read(self, requests: Sequence[tuple[str, pa.Table]]) -> list[pa.Table]:
        """For each `(table, keys)`, the stored rows aligned with `keys` (all null if absent)."""
        ...

    def drop(self, table: str) -> None:
        """Remove a table's rows and state."""
        ...

    def close(self) -> None: ...


_BACKENDS: dict[str, str | Callable[[str, str], OnlineStore]] = {
    "sqlite": "lakestack.features._online._sqlite:SqliteOnlineStore",
    "redis": "lakestack.features._online._redis:RedisOnlineStore",
    "rediss": "lakestack.features._online._redis:RedisOnlineStore",
}


def register_online_store(scheme: str, factory: Callable[[str, str], OnlineStore]) -> None:
    """Add an online store backend: `factory(uri, namespace)` for URIs `scheme://...`."""
    _BACKENDS[scheme] = factory


def open_online_store(uri: str, namespace: str = "") -> OnlineStore:
    """Open the online store at `uri` (`sqlite:///path.db`, `redis://host:6379/0`, ...).

    Args:
        uri: the store's URI; its scheme picks the backend.
        namespace: separates projects and environments sharing one server (a Redis key prefix).

    Raises:
        FeatureError: no backend for the URI's scheme, or the store cannot be opened.
    """
    scheme = uri.split("://", 1)[0] if "://" in uri else ""
    backend = _BACKENDS.get(scheme)
    if backend is None:
        raise FeatureError(
            f"online store {uri!r}: no backend for scheme {scheme!r}; use one of "
            f"{', '.join(s + '://' for s in sorted(_BACKENDS))}"
        )
    if isinstance(backend, str):
        module, _, name = backend.partition(":")
        factory: Any = getattr(importlib.import_module(module), name)
    else:
        factory = backend
    store: OnlineStore = factory(uri, namespace)
    return store


def not_published(table: str, uri: str) -> FeatureError:
    """The error of a read of `table`, which the online store at `uri` does not hold."""
    return FeatureError(
        f"feature table {table} is not published to the online store {uri}; "
        f"run `lakestack features publish {table}`"
    )


def published_state(store: OnlineStore, table: str) -> PublishState:
    """What is published of `table` (a copy read recently will do); FeatureError if nothing."""
    state = store.state(table, cached=True)
    if state is None:
        raise not_published(table, store.uri)
    return state
