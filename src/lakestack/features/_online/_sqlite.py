"""The embedded online store: one SQLite file, one SQL table per published feature table.

Each feature table's rows live in a table named after it, its layout fingerprint and the Delta
version that filled it (`lakestack:features.weather:<fingerprint>:<version>`), with the primary
keys as the SQL primary key and one typed column per Arrow column. A full republish fills a new
table and switches to it in one transaction, so readers never see a half-written table; the
state table `lakestack_online_tables` says which SQL table is current.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakestack.errors import FeatureError
from lakestack.features._online._base import PublishState, not_published
from lakestack.features._online._codec import decode_column, encode_column, storage_type

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["SqliteOnlineStore"]

_STATE = "lakestack_online_tables"
_MAX_PARAMS = 30_000


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_type(t: pa.DataType) -> str:
    import pyarrow as pa

    s = storage_type(t.value_type if pa.types.is_dictionary(t) else t)
    if pa.types.is_integer(s):
        return "INTEGER"
    if pa.types.is_floating(s):
        return "REAL"
    if pa.types.is_binary(s) or pa.types.is_large_binary(s):
        return "BLOB"
    return "TEXT"


class SqliteOnlineStore:
    """The online store in a SQLite file (`sqlite:///abs/path/online.db`); thread-safe."""

    def __init__(self, uri: str, namespace: str = "") -> None:
        # SQLAlchemy's form: sqlite:///relative.db, sqlite:////absolute.db, sqlite:///:memory:
        path = uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else ""
        if not path:
            raise FeatureError(
                f"online store {uri!r}: write sqlite:///relative/path.db or sqlite:////abs/path.db"
            )
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.uri = uri
        self.path = path
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {_STATE} "
                "(name TEXT PRIMARY KEY, data_table TEXT NOT NULL, state TEXT NOT NULL)"
            )
        except sqlite3.Error as exc:
            raise FeatureError(f"cannot open the online store {uri}: {exc}") from exc
        self._cache: dict[str, tuple[PublishState, str]] = {}

    # -- state ------------------------------------------------------------------------------

    def _current(self, table: str, *, refresh: bool = False) -> tuple[PublishState, str] | None:
        if not refresh and table in self._cache:
            return self._cache[table]
        row = self._db.execute(
            f"SELECT state, data_table FROM {_STATE} WHERE name = ?", (table,)
        ).fetchone()
        if row is None:
            self._cache.pop(table, None)
            return None
        found = (PublishState.from_json(row[0]), str(row[1]))
        self._cache[table] = found
        return found

    def state(self, table: str, *, cached: bool = False) -> PublishState | None:
        with self._lock:
            current = self._current(table, refresh=not cached)
        return current[0] if current else None

    def tables(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute(f"SELECT name FROM {_STATE} ORDER BY name")]

    # -- writes -----------------------------------------------------------------------------

    def _insert(self, data_table: str, state: PublishState, rows: pa.Table) -> None:
        names = state.schema.names
        columns = [encode_column(rows.column(name), binary_as_text=False) for name in names]
        marks = ", ".join("?" * len(names))
        self._db.executemany(
            f"INSERT OR REPLACE INTO {_quote(data_table)} VALUES ({marks})",
            zip(*columns, strict=True),
        )

    def _record(self, state: PublishState, data_table: str) -> None:
        self._db.execute(
            f"INSERT OR REPLACE INTO {_STATE} (name, data_table, state) VALUES (?, ?, ?)",
            (state.table, data_table, state.to_json()),
        )

    def write(self, state: PublishState, rows: pa.Table, deleted: pa.Table | None = None) -> None:
        with self._lock:
            current = self._current(state.table, refresh=True)
            if current is None or current[0].fingerprint != state.fingerprint:
                raise FeatureError(
                    f"online store {self.uri}: {state.table} is not published with this layout; "
                    "publish it in full first"
                )
            data_table = current[1]
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._insert(data_table, state, rows)
                if deleted is not None and deleted.num_rows:
                    self._delete(data_table, state, deleted)
                self._record(state, data_table)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._cache.pop(state.table, None)

    def _delete(self, data_table: str, state: PublishState, keys: pa.Table) -> None:
        columns = [encode_column(keys.column(k), binary_as_text=False) for k in state.keys]
        where = " AND ".join(f"{_quote(k)} = ?" for k in state.keys)
        self._db.executemany(
            f"DELETE FROM {_quote(data_table)} WHERE {where}", zip(*columns, strict=True)
        )

    def replace(self, state: PublishState, rows: pa.Table) -> None:
        with self._lock:
            previous = self._current(state.table, refresh=True)
            data_table = f"lakestack:{state.table}:{state.fingerprint}:{state.version}"
            if previous is not None and previous[1] == data_table:
                data_table += "b"
            definition = ", ".join(f"{_quote(f.name)} {_sql_type(f.type)}" for f in state.schema)
            keys = ", ".join(_quote(k) for k in state.keys)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(f"DROP TABLE IF EXISTS {_quote(data_table)}")
                self._db.execute(
                    f"CREATE TABLE {_quote(data_table)} ({definition}, PRIMARY KEY ({keys})) "
                    "WITHOUT ROWID"
                )
                self._insert(data_table, state, rows)
                self._record(state, data_table)
                if previous is not None:
                    self._db.execute(f"DROP TABLE IF EXISTS {_quote(previous[1])}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._cache.pop(state.table, None)

    def drop(self, table: str) -> None:
        with self._lock:
            current = self._current(table, refresh=True)
            if current is None:
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(f"DROP TABLE IF EXISTS {_quote(current[1])}")
            self._db.execute(f"DELETE FROM {_STATE} WHERE name = ?", (table,))
            self._db.execute("COMMIT")
            self._cache.pop(table, None)

    # -- reads ------------------------------------------------------------------------------

    def read(self, requests: Sequence[tuple[str, pa.Table]]) -> list[pa.Table]:
        with self._lock:
            return [self._read_one(table, keys) for table, keys in requests]

    def _read_one(self, table: str, keys: pa.Table) -> pa.Table:
        for attempt in range(2):
            current = self._current(table, refresh=attempt > 0)
            if current is None:
                raise not_published(table, self.uri)
            try:
                return self._select(current[0], current[1], keys)
            except sqlite3.OperationalError:
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _select(self, state: PublishState, data_table: str, keys: pa.Table) -> pa.Table:
        import pyarrow as pa

        wanted = list(
            zip(
                *(encode_column(keys.column(k), binary_as_text=False) for k in state.keys),
                strict=True,
            )
        )
        names = state.schema.names
        select = ", ".join(_quote(n) for n in names)
        nkeys = len(state.keys)
        found: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        unique = list(dict.fromkeys(wanted))
        step = max(1, _MAX_PARAMS // nkeys)
        for start in range(0, len(unique), step):
            chunk = unique[start : start + step]
            if nkeys == 1:
                where = f"{_quote(state.keys[0])} IN ({', '.join('?' * len(chunk))})"
                params: list[Any] = [k[0] for k in chunk]
            else:
                row = "(" + ", ".join("?" * nkeys) + ")"
                columns = ", ".join(_quote(k) for k in state.keys)
                where = f"({columns}) IN (VALUES {', '.join([row] * len(chunk))})"
                params = [v for k in chunk for v in k]
            for result in self._db.execute(
                f"SELECT {select} FROM {_quote(data_table)} WHERE {where}", params
            ):
                found[tuple(result[:nkeys])] = result
        empty = (None,) * len(names)
        rows = [found.get(k, empty) for k in wanted]
        columns_out = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        return pa.table(
            [
                decode_column(list(values), field.type, binary_as_text=False)
                for values, field in zip(columns_out, state.schema, strict=True)
            ],
            schema=state.schema,
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
