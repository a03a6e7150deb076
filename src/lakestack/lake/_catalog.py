"""The catalog: what a lake holds, table by table.

A process that asks again and again (the control plane, for the console's pages) keeps each
table it described open: bringing an open table to its latest version lists only the commits
since (~0.5 ms, where opening it anew replays its log: ~5 ms), and a table's entry is kept for
its version. That is right because a table's location holds one Delta log whose versions only
grow (lakestack never drops a table); should one be deleted and written anew all the same, its
first commit file (on a local lake) and its table id (in the log) tell the new table apart.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from lakestack.lake._log import stable_history
from lakestack.lake._metadata import Commit
from lakestack.lake._names import TableName, TableRef
from lakestack.lake._storage import is_object_store, list_tables

if TYPE_CHECKING:
    from datetime import datetime

    import pyarrow as pa
    from deltalake import DeltaTable

__all__ = ["TableCatalog", "TableInfo", "VersionKey", "describe"]

VersionKey = tuple[str, str, int]
"""(location, Delta table id, version): one version of one table, as a cache key."""


@dataclass(frozen=True)
class TableInfo:
    """One table as the catalog shows it.

    Attributes:
        name: `<schema>.<table>`.
        environment: the environment whose lake holds it.
        location: where it is stored.
        version: its latest Delta version.
        rows: the number of rows in that version.
        files: the number of data files.
        size_bytes: their total size.
        schema: its Arrow schema.
        description: the description given at creation.
        last_commit: the latest commit, with its writer.
    """

    name: str
    environment: str
    location: str
    version: int
    rows: int
    files: int
    size_bytes: int
    schema: pa.Schema
    description: str | None
    last_commit: Commit | None

    @property
    def columns(self) -> list[tuple[str, str]]:
        """`(name, type)` of every column."""
        return [(field.name, str(field.type)) for field in self.schema]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "environment": self.environment,
            "location": self.location,
            "version": self.version,
            "rows": self.rows,
            "files": self.files,
            "size_bytes": self.size_bytes,
            "columns": [{"name": n, "type": t} for n, t in self.columns],
            "description": self.description,
            "last_commit": self.last_commit.to_dict() if self.last_commit else None,
        }


class _Lake(Protocol):
    root: str
    environment: str
    storage_options: dict[str, str] | None

    def open(
        self,
        name: str | TableName | TableRef,
        *,
        version: int | None = None,
        as_of: datetime | str | None = None,
        environment: str | None = None,
    ) -> DeltaTable: ...

    def path(self, name: str | TableName, environment: str | None = None) -> str: ...

    def tables(self, schema: str | None = None) -> list[str]: ...

    def info(self, name: str | TableName, environment: str | None = None) -> TableInfo: ...

    def latest(self, name: str | TableName) -> contextlib.AbstractContextManager[DeltaTable]: ...


def describe(lake: _Lake, name: str | TableName, environment: str | None = None) -> TableInfo:
    """The catalog entry of one table (opened anew)."""
    table = lake.open(TableName.parse(name), environment=environment)
    return _describe(lake, table, name, environment)


def _describe(
    lake: _Lake, table: DeltaTable, name: str | TableName, environment: str | None
) -> TableInfo:
    """The entry of an open table, at its latest version (the table is brought there)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    last_commit = _last_commit(table, str(TableName.parse(name)))
    actions = pa.table(table.get_add_actions(flatten=True))
    rows = pc.sum(actions.column("num_records")).as_py() if actions.num_rows else 0
    size = pc.sum(actions.column("size_bytes")).as_py() if actions.num_rows else 0
    return TableInfo(
        name=str(TableName.parse(name)),
        environment=environment or lake.environment,
        location=lake.path(name, environment),
        version=table.version(),
        rows=int(rows or 0),
        files=actions.num_rows,
        size_bytes=int(size or 0),
        schema=pa.schema(table.schema().to_arrow()),
        description=table.metadata().description,
        last_commit=last_commit,
    )


def _last_commit(table: DeltaTable, name: str) -> Commit | None:
    """The commit that made the table's version. Reading the history brings the table to the
    latest version at which no commit landed meanwhile, so the newest entry is that one."""
    for limit in (8, None):
        for entry in stable_history(lambda: table, name, limit):
            if int(entry["version"]) == table.version():
                return Commit.from_delta(entry)
    return None


@dataclass
class _Open:
    """One table kept open, and its entry for the version it was described at."""

    table: DeltaTable
    lock: threading.RLock
    log: tuple[int, int] | None
    key: VersionKey | None = None
    info: TableInfo | None = None


class _OpenTables:
    """The tables this process keeps open, by location (the most recently used ones)."""

    def __init__(self, most: int = 512) -> None:
        self._open: OrderedDict[tuple[str, str], _Open] = OrderedDict()
        self._lock = threading.Lock()
        self._most = most

    def get(self, lake: _Lake, name: str | TableName) -> _Open:
        """The open table (opened now when it is not yet); TableNotFoundError when missing."""
        location = lake.path(name)
        slot = (location, repr(sorted((lake.storage_options or {}).items())))
        log = _log_start(location)
        with self._lock:
            found = self._open.get(slot)
            if found is not None and found.log == log:
                self._open.move_to_end(slot)
                return found
        table = lake.open(TableName.parse(name))
        with self._lock:
            found = self._open.get(slot)
            if found is None or found.log != log:
                found = self._open[slot] = _Open(table, threading.RLock(), log)
            while len(self._open) > self._most:
                self._open.popitem(last=False)
        return found


def _log_start(location: str) -> tuple[int, int] | None:
    """The identity (inode, modification time) of a local table's first commit file, which a
    table deleted and created again writes anew; None on an object store or once the log's
    cleanup removed it."""
    if is_object_store(location):
        return None
    try:
        found = os.stat(f"{location.removeprefix('file://')}/_delta_log/{0:020d}.json")
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns


_OPEN = _OpenTables()


def _key(lake: _Lake, table: DeltaTable, name: str | TableName) -> VersionKey:
    return (lake.path(name), str(table.metadata().id), table.version())


class TableCatalog:
    """What `Lake` holds, table by table (its base class; `Lake` says where a table lives)."""

    root: str
    storage_options: dict[str, str] | None

    def tables(self, schema: str | None = None) -> list[str]:
        """The names of the tables in this lake (a local folder or an s3:// root), sorted."""
        return list_tables(self.root, self.storage_options, schema)

    def info(self: _Lake, name: str | TableName, environment: str | None = None) -> TableInfo:
        """Schema, rows, version, size and last writer of a table (its latest version)."""
        if environment not in (None, self.environment):
            return describe(self, name, environment)
        held = _OPEN.get(self, name)
        with held.lock:
            held.table.update_incremental()
            if held.info is None or held.key != _key(self, held.table, name):
                held.info = _describe(self, held.table, name, None)
                held.key = _key(self, held.table, name)
            return held.info

    @contextlib.contextmanager
    def latest(self: _Lake, name: str | TableName) -> Iterator[DeltaTable]:
        """The table kept open, brought to its latest version, for this block alone (other
        threads asking for it wait): read it, do not pin it to another version.

        Raises:
            TableNotFoundError: no such table.
        """
        held = _OPEN.get(self, name)
        with held.lock:
            held.table.update_incremental()
            yield held.table

    def catalog(self: _Lake, schema: str | None = None) -> list[TableInfo]:
        """`info` of every table of this lake, sorted by name."""
        return [self.info(name) for name in self.tables(schema)]

    def _reading(
        self: _Lake,
        name: str | TableName | TableRef,
        version: int | None,
        as_of: datetime | str | None,
        environment: str | None,
    ) -> contextlib.AbstractContextManager[DeltaTable]:
        """The table to read: the one kept open when the latest version of this lake's table
        is asked (`latest`), else one opened at the version asked."""
        ref = name if isinstance(name, TableRef) else TableRef.parse(str(name))
        pins = (ref.version, ref.as_of, version, as_of)
        if pins == (None,) * 4 and environment in (None, self.environment):
            return self.latest(ref.name)
        table = self.open(name, version=version, as_of=as_of, environment=environment)
        return contextlib.nullcontext(table)

    def version_key(self: _Lake, name: str | TableName) -> VersionKey | None:
        """The key of the table's latest version (None when there is no such table): what is
        computed from that version can be kept under it."""
        from lakestack.errors import TableNotFoundError

        try:
            with self.latest(name) as table:
                return _key(self, table, name)
        except TableNotFoundError:
            return None
