"""Table maintenance: compaction (optionally Z-ordered) and vacuum of unreferenced files.

A busy writer (an inference log, the run records) leaves one small file per commit; `optimize`
rewrites them into few large ones in a commit of its own, so readers open fewer files.
`vacuum` then deletes the files no version within the retention window needs. Both record the
lakestack write context in their commits, like every other write.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from lakestack.errors import LakeError, WriteConflictError
from lakestack.lake._log import stable_history

if TYPE_CHECKING:
    from deltalake import DeltaTable

    from lakestack.lake._names import TableName
    from lakestack.lake._writes import WriteTarget

__all__ = [
    "OptimizeResult",
    "TableMaintenance",
    "VacuumResult",
    "is_commit_conflict",
    "optimize_table",
    "retry_conflicts",
    "vacuum_table",
]

_OPTIMIZE_RETRIES = 5

T = TypeVar("T")


@dataclass(frozen=True)
class OptimizeResult:
    """What one `optimize` did.

    Attributes:
        table: `<schema>.<table>`.
        environment: the environment whose lake holds the table.
        version: the table's version afterwards (unchanged when nothing needed compacting).
        committed: whether a commit was made (false when every file was already large).
        files_removed: small files replaced by the compaction.
        files_added: files written in their place.
        bytes_removed: their total size.
        bytes_added: the new files' total size.
        zorder_by: the Z-order columns, empty for a plain compaction.
    """

    table: str
    environment: str
    version: int
    committed: bool
    files_removed: int
    files_added: int
    bytes_removed: int
    bytes_added: int
    zorder_by: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = asdict(self)
        out["zorder_by"] = list(self.zorder_by)
        return out


@dataclass(frozen=True)
class VacuumResult:
    """What one `vacuum` deleted (or would delete, with `dry_run`).

    Attributes:
        table: `<schema>.<table>`.
        environment: the environment whose lake holds the table.
        version: the table's version afterwards (a vacuum that deletes commits twice).
        retain_hours: files still needed by a version younger than this were kept.
        dry_run: nothing was deleted; `files` lists what would be.
        files: the files deleted, relative to the table's folder.
    """

    table: str
    environment: str
    version: int
    retain_hours: int | None
    dry_run: bool
    files: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = asdict(self)
        out["files"] = list(self.files)
        return out


def _total_size(metric: Any) -> int:
    # deltalake reports file statistics as a JSON string: {"totalFiles": .., "totalSize": ..}
    stats = json.loads(metric) if isinstance(metric, str) else (metric or {})
    return int(stats.get("totalSize", 0))


def is_commit_conflict(exc: Exception) -> bool:
    """Whether a deltalake error is a commit that lost a race with another writer."""
    from deltalake.exceptions import CommitFailedError

    text = str(exc).lower()
    return isinstance(exc, CommitFailedError) or "conflict" in text or "commit failed" in text


def retry_conflicts(
    attempt: Callable[[], T], retries: int, gave_up: Callable[[Exception], str]
) -> T:
    """`attempt()`, again after a jittered exponential backoff while it loses its commit to a
    concurrent writer (`is_commit_conflict`), `retries` times at most.

    Raises:
        WriteConflictError: the last retry conflicted too; its message is `gave_up(error)`.
    """
    for n in range(retries + 1):
        try:
            return attempt()
        except Exception as exc:
            if not is_commit_conflict(exc):
                raise
            if n == retries:
                raise WriteConflictError(gave_up(exc)) from exc
            time.sleep(min(2.0, 0.05 * 2**n) * (0.5 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


def _optimize_version(open_table: Callable[[], DeltaTable], table: str, read_version: int) -> int:
    # The table object moves to the latest version after committing, which may include
    # concurrent appends; the compaction's own commit is the OPTIMIZE that read `read_version`.
    for limit in (16, None):
        entries = stable_history(open_table, table, limit)
        for entry in entries:
            if entry.get("operation") == "OPTIMIZE" and entry.get("readVersion") == read_version:
                return int(entry["version"])
    raise LakeError(  # pragma: no cover - deltalake always records the version it read
        f"optimize {table} committed, but its commit is not in the table's history"
    )


def optimize_table(
    open_table: Callable[[], DeltaTable],
    *,
    table: str,
    environment: str,
    properties: Any,
    zorder_by: Sequence[str] = (),
    target_size: int | None = None,
) -> OptimizeResult:
    """Compact a table's small files, retrying on a concurrent writer's conflicting commit.

    Args:
        open_table: opens the table at its latest version (called again for each retry).
        table: the table's name, for messages and the result.
        environment: the lake's environment, for messages and the result.
        properties: deltalake `CommitProperties` with the write context.
        zorder_by: also sort the rewritten data by these columns (Z-order).
        target_size: the size of the files to write, in bytes (deltalake's default: 100 MiB).

    Raises:
        LakeError: a Z-order column is not in the table, or `target_size` is not positive.
        WriteConflictError: concurrent writers kept conflicting; nothing was changed.
    """
    if target_size is not None and target_size <= 0:
        raise LakeError(
            f"optimize {table}: target_size must be a positive number of bytes, got "
            f"{target_size}; leave it out for deltalake's default of 100 MiB"
        )

    def attempt() -> tuple[int, dict[str, Any]]:
        """The version the compaction read, and deltalake's metrics of it."""
        delta = open_table()
        before = delta.version()
        if not zorder_by:
            metrics = delta.optimize.compact(target_size=target_size, commit_properties=properties)
            return before, metrics
        columns = [field.name for field in delta.schema().fields]
        unknown = [c for c in zorder_by if c not in columns]
        if unknown:
            raise LakeError(
                f"optimize {table}: cannot Z-order by {', '.join(unknown)}: no such "
                f"column; the table's columns are {', '.join(columns)}"
            )
        metrics = delta.optimize.z_order(
            list(zorder_by), target_size=target_size, commit_properties=properties
        )
        return before, metrics

    before, metrics = retry_conflicts(
        attempt,
        _OPTIMIZE_RETRIES,
        lambda exc: (
            f"optimize {table} in the {environment!r} lake kept conflicting with "
            f"concurrent writers after {_OPTIMIZE_RETRIES} retries: {exc}. Its data is "
            "unchanged; run it again when the table is quieter."
        ),
    )
    removed = int(metrics.get("numFilesRemoved", 0))
    added = int(metrics.get("numFilesAdded", 0))
    committed = bool(removed or added)
    return OptimizeResult(
        table=table,
        environment=environment,
        version=_optimize_version(open_table, table, before) if committed else before,
        committed=committed,
        files_removed=removed,
        files_added=added,
        bytes_removed=_total_size(metrics.get("filesRemoved")),
        bytes_added=_total_size(metrics.get("filesAdded")),
        zorder_by=tuple(zorder_by),
    )


def vacuum_table(
    delta: DeltaTable,
    *,
    table: str,
    environment: str,
    properties: Any,
    retain_hours: int | None,
    dry_run: bool,
    force: bool,
) -> VacuumResult:
    """Delete the files that no version within `retain_hours` references.

    Args:
        delta: the table, at its latest version.
        table: the table's name, for messages and the result.
        environment: the lake's environment, for messages and the result.
        properties: deltalake `CommitProperties` with the write context.
        retain_hours: keep what versions younger than this need (default: the table's
            `delta.deletedFileRetentionDuration`, 168 hours unless set).
        dry_run: only list the files.
        force: allow a retention shorter than the table's own.

    Raises:
        LakeError: a negative retention, or one shorter than the table's without `force`.
    """
    if retain_hours is not None and retain_hours < 0:
        raise LakeError(
            f"vacuum {table}: retain_hours must be 0 or more, got {retain_hours}; it is how "
            "many hours of versions stay readable (time travel)"
        )
    try:
        files = delta.vacuum(
            retention_hours=retain_hours,
            dry_run=dry_run,
            enforce_retention_duration=not force,
            commit_properties=properties,
        )
    except Exception as exc:
        if "retention" not in str(exc).lower():
            raise
        raise LakeError(
            f"vacuum {table} in the {environment!r} lake with retain_hours={retain_hours} "
            f"refused: {exc}. A shorter retention deletes files that readers of recent versions "
            "and writers still committing may need. Keep the table's retention (leave "
            "retain_hours out), or pass force=True (`--force` on the command line) if no one "
            "reads or writes the table meanwhile."
        ) from exc
    return VacuumResult(
        table=table,
        environment=environment,
        version=delta.version(),
        retain_hours=retain_hours,
        dry_run=dry_run,
        files=tuple(sorted(files)),
    )


class _Lake(Protocol):
    def _target(self, name: str | TableName, environment: str | None) -> WriteTarget: ...

    def _emit(
        self, kind: Literal["read", "write"], env: str, table: str, version: int, op: str
    ) -> None: ...


class TableMaintenance:
    """`optimize` and `vacuum` of `Lake` (its base class; `Lake` says where a table lives)."""

    def optimize(
        self: _Lake,
        name: str | TableName,
        *,
        zorder_by: Sequence[str] | None = None,
        target_size: int | None = None,
        environment: str | None = None,
    ) -> OptimizeResult:
        """Compact small files into large ones (and Z-order them by columns when given).

        The rows and every old version stay as they are; the compaction is a commit of its own
        with the write context, retried when it races another writer. A table whose files are
        already large is left without a commit.

        Args:
            name: `schema.table`.
            zorder_by: also cluster the data by these columns, for reads filtering on them.
            target_size: the size of the files to write, in bytes (default 100 MiB).
            environment: another environment's lake (needs a write grant).

        Returns:
            The files removed and added and the table's version afterwards.

        Raises:
            TableNotFoundError: no such table.
            LakeError: a Z-order column the table does not have.
            WriteConflictError: concurrent writers kept conflicting; nothing changed.

        Example:
            >>> lake.optimize("inference.flights").files_removed  # doctest: +SKIP
            460
        """
        target = self._target(name, environment)
        result = optimize_table(
            target.open,
            table=target.table,
            environment=target.environment,
            properties=target.properties("optimize", 0),
            zorder_by=tuple(zorder_by or ()),
            target_size=target_size,
        )
        if result.committed:
            self._emit("write", target.environment, target.table, result.version, "optimize")
        return result

    def vacuum(
        self: _Lake,
        name: str | TableName,
        *,
        retain_hours: int | None = None,
        dry_run: bool = False,
        force: bool = False,
        environment: str | None = None,
    ) -> VacuumResult:
        """Delete the files no version younger than `retain_hours` needs.

        Versions older than that can no longer be read (time travel ends there), so the
        retention is the table's own (`delta.deletedFileRetentionDuration`, 7 days unless set)
        unless `force` allows a shorter one.

        Args:
            name: `schema.table`.
            retain_hours: hours of versions to keep readable (default: the table's retention).
            dry_run: only list the files that would be deleted.
            force: allow a retention shorter than the table's, e.g. 0 to keep only the latest
                version; safe only while no one else reads or writes the table.
            environment: another environment's lake (needs a write grant).

        Returns:
            The files deleted (or that would be) and the table's version afterwards.

        Raises:
            TableNotFoundError: no such table.
            LakeError: a retention shorter than the table's without `force`, or a negative one.
        """
        target = self._target(name, environment)
        delta = target.open()
        before = delta.version()
        result = vacuum_table(
            delta,
            table=target.table,
            environment=target.environment,
            properties=target.properties("vacuum", None),
            retain_hours=retain_hours,
            dry_run=dry_run,
            force=force,
        )
        if result.version != before:
            self._emit("write", target.environment, target.table, result.version, "vacuum")
        return result
