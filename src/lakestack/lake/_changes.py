"""What each version of a Delta table changed: the rows it appended, or that it rewrote rows.

A reader that follows a table (serving's `lakestack score --follow`) needs the rows added since
the version it last read. Delta records them in each commit's `add` actions; a commit that also
removes files changed or deleted rows in place (an overwrite, a merge, a delete, an update),
except an OPTIMIZE, which writes the same rows into fewer files. The change data feed would say
the same for tables that turn it on; this needs nothing of the table. Each version is read from
its own snapshot, so rows appended and then compacted by a later OPTIMIZE are still found in
the files their append wrote (until a vacuum deletes them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from lakestack.errors import LakeError, TableNotFoundError
from lakestack.lake._log import stable_history

if TYPE_CHECKING:
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

    from lakestack.lake._names import TableName

__all__ = ["TableChange", "TableChanges", "table_changes"]

# Operations that move rows between files without changing them.
_SAME_ROWS = frozenset({"OPTIMIZE", "VACUUM START", "VACUUM END"})


@dataclass(frozen=True)
class TableChange:
    """One version of a table, as a change of the version before it.

    Attributes:
        version: the Delta version.
        operation: Delta's operation (WRITE, MERGE, DELETE, OPTIMIZE, CREATE TABLE, ...).
        rows: the rows its added files hold (0 when it added none, or only moved rows).
        appended: those rows, as an Arrow dataset of the added files (None when there are none).
        rewrites: it removed files holding rows it did not write again unchanged: rows were
            deleted, updated or replaced in place (an overwrite, merge, delete or update).
    """

    version: int
    operation: str
    rows: int
    appended: ds.Dataset | None
    rewrites: bool


def table_changes(
    open_latest: Callable[[], DeltaTable], name: str, since: int, upto: int
) -> list[TableChange]:
    """The changes of the versions after `since` up to `upto`, oldest first.

    Args:
        open_latest: opens the table at its latest version.
        name: the table's name, for errors.
        since: the last version already read (-1: none, the first version is a change too).
        upto: the last version to describe.
    """
    if upto <= since:
        return []
    operations = _operations(open_latest, name, since, upto)
    table = open_latest()
    before: dict[str, int] = {}
    if since >= 0:
        table.load_as_version(since)
        before = _files(table)
    changes = []
    for version in range(since + 1, upto + 1):
        table.load_as_version(version)
        files = _files(table)
        added = {path: rows for path, rows in files.items() if path not in before}
        removed = [path for path in before if path not in files]
        operation = operations.get(version, "?")
        if operation in _SAME_ROWS:
            changes.append(TableChange(version, operation, 0, None, False))
        else:
            dataset = _dataset_of(table, set(added), name, version) if added else None
            changes.append(
                TableChange(version, operation, sum(added.values()), dataset, bool(removed))
            )
        before = files
    return changes


def _operations(
    open_latest: Callable[[], DeltaTable], name: str, since: int, upto: int
) -> dict[int, str]:
    """Delta's operation of each version after `since` up to `upto`: from the newest commits
    (a follower asks for few), or the whole history when more landed meanwhile."""
    wanted = range(since + 1, upto + 1)
    for limit in (upto - since + 16, None):
        operations = {
            int(entry["version"]): str(entry.get("operation", "?"))
            for entry in stable_history(open_latest, name, limit)
        }
        if all(version in operations for version in wanted):
            break
    return operations


def _files(table: DeltaTable) -> dict[str, int]:
    """The data files of the loaded version: path -> rows."""
    import pyarrow as pa

    actions = pa.table(table.get_add_actions(flatten=False))
    paths = actions.column("path").to_pylist()
    rows = actions.column("num_records").to_pylist()
    return {path: int(count or 0) for path, count in zip(paths, rows, strict=True)}


def _dataset_of(table: DeltaTable, paths: set[str], name: str, version: int) -> ds.Dataset:
    """The loaded version's dataset, restricted to some of its files (partition values kept)."""
    import pyarrow.dataset as ds

    full = table.to_pyarrow_dataset()
    fragments = [f for f in full.get_fragments() if f.path in paths]
    if len(fragments) != len(paths):  # pragma: no cover - deltalake names files one way
        raise LakeError(
            f"table {name} version {version}: {len(paths) - len(fragments)} added file(s) "
            "are not in the version's dataset"
        )
    return ds.FileSystemDataset(fragments, full.schema, full.format, full.filesystem)


class _Lake(Protocol):
    def _open(
        self, name: str | TableName, environment: str | None = None, *, write: bool = False
    ) -> DeltaTable: ...

    def _emit(
        self, kind: Literal["read", "write"], env: str, table: str, version: int, op: str
    ) -> None: ...

    environment: str


class TableChanges:
    """`changes` and `transaction_version` of `Lake` (its base class)."""

    def changes(
        self: _Lake,
        name: str | TableName,
        since: int,
        *,
        upto: int | None = None,
        environment: str | None = None,
    ) -> list[TableChange]:
        """What each version after `since` changed, oldest first: the rows it appended, or
        that it rewrote rows in place. Recorded as a read of the last version described.

        Args:
            name: `schema.table`.
            since: the last version already read (-1: none).
            upto: the last version to describe (default: the latest).
            environment: another environment's lake (needs a read grant).

        Raises:
            TableNotFoundError: no such table.
        """
        from lakestack.lake._names import TableName

        table = str(TableName.parse(name))
        last = self._open(name, environment).version() if upto is None else upto
        found = table_changes(lambda: self._open(name, environment), table, since, last)
        if found:
            self._emit("read", environment or self.environment, table, last, "read")
        return found

    def transaction_version(
        self: _Lake, name: str | TableName, app_id: str, environment: str | None = None
    ) -> int | None:
        """The version an application last recorded in this table with
        `append(..., transaction=(app_id, version))`, or None (also when there is no table).
        """
        try:
            version = self._open(name, environment).transaction_version(app_id)
        except TableNotFoundError:
            return None
        return None if version is None else int(version)
