"""The lake of one environment: Delta tables named `<schema>.<table>` under a root."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lakestack.errors import (
    EnvironmentAccessError,
    LakeError,
    TableExistsError,
    TableNotFoundError,
    WriteConflictError,
)
from lakestack.lake._log import stable_history
from lakestack.lake._maintenance import (
    OptimizeResult,
    VacuumResult,
    is_commit_conflict,
    optimize_table,
    vacuum_table,
)
from lakestack.lake._metadata import Commit, WriteContext, code_version
from lakestack.lake._names import TableName, TableRef
from lakestack.lake._schema import conform, to_arrow
from lakestack.lake._storage import is_object_store, list_tables
from lakestack.lake._storage import storage_options as storage_options_for

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa
    from deltalake import DeltaTable

    from lakestack.access import TableWriteGuard
    from lakestack.config import Environment, Project
    from lakestack.lake._catalog import TableInfo

__all__ = ["Filters", "Lake", "TableEvent", "TableListener"]

# deltalake's DNF filters, e.g. [("origin", "=", "JFK"), ("month", "in", [6, 7])]
Filters = Sequence[tuple[str, str, Any]] | Sequence[Sequence[tuple[str, str, Any]]]

_MERGE_RETRIES = 8
_APPEND_COMMIT_RETRIES = 100


@dataclass(frozen=True)
class TableEvent:
    """A read or a write of a table, as passed to listeners (lineage records these).

    Attributes:
        kind: `read` or `write`.
        environment: the environment whose lake holds the table.
        table: `<schema>.<table>`.
        version: the Delta version read, or the version the write created.
        operation: `read`, `create`, `append`, `overwrite`, `merge`, `delete`, `optimize`, ...
    """

    kind: Literal["read", "write"]
    environment: str
    table: str
    version: int
    operation: str


TableListener = Callable[[TableEvent], None]


class Lake:
    """The Delta tables of one environment.

    Every write records a `WriteContext` (environment, principal, run, job, task, code version)
    in the Delta commit; reads can pin a version or a timestamp. Another environment's tables are
    reachable only through the grants of `lakestack.yaml`.

    Example:
        >>> lake = Lake.for_environment(load_project("."), "dev")  # doctest: +SKIP
        >>> lake.append("bronze.events", {"id": [1, 2]})  # doctest: +SKIP
        0
        >>> lake.read("bronze.events", version=0).num_rows  # doctest: +SKIP
        2
    """

    def __init__(
        self,
        root: str | Path,
        *,
        environment: str = "dev",
        context: WriteContext | None = None,
        storage_options: dict[str, str] | None = None,
        environments: dict[str, Environment] | None = None,
        guard: TableWriteGuard | None = None,
    ) -> None:
        """Open the lake at `root`.

        Args:
            root: the lake root, a folder or an object-store URI.
            environment: the environment this lake belongs to and writes as.
            context: the write context recorded in every commit.
            storage_options: deltalake storage options for object stores.
            environments: every environment of the project, for cross-environment access.
            guard: the access check run before every write (`lakestack.access`).
        """
        self.root = str(root).rstrip("/")
        self.environment = environment
        self.context = context or WriteContext(environment=environment)
        self.storage_options = storage_options_for(self.root, storage_options)
        self._environments = environments or {}
        self._listeners: list[TableListener] = []
        self._guard = guard

    @classmethod
    def for_environment(
        cls,
        project: Project,
        environment: str | None = None,
        *,
        context: WriteContext | None = None,
    ) -> Lake:
        """The lake of one of the project's environments, writing as `context`.

        When the project declares principals, every write is checked against the writer's
        role and audited (`lakestack.access`), and the writer is the acting principal.
        """
        from lakestack.access import access_enabled, current_caller, table_write_guard

        env = project.environment(environment)
        if context is None:
            enabled = access_enabled(project)
            context = WriteContext(
                environment=env.name,
                principal=current_caller(project, env.name).principal if enabled else "",
                code_version=code_version(project.root),
            )
        return cls(
            env.lake_root,
            environment=env.name,
            context=context,
            storage_options=env.storage_options,
            environments=project.environments,
            guard=table_write_guard(project),
        )

    # -- plumbing ---------------------------------------------------------------------------

    def with_context(self, **changes: Any) -> Lake:
        """A view of this lake that writes with some context fields changed (run_id, task, ...).

        Listeners are shared with this lake.
        """
        clone = Lake(
            self.root,
            environment=self.environment,
            context=self.context.with_(**changes),
            storage_options=self.storage_options,
            environments=self._environments,
            guard=self._guard,
        )
        clone._listeners = self._listeners
        return clone

    def add_listener(self, listener: TableListener) -> None:
        """Call `listener` after every read and write (the lineage hook)."""
        self._listeners.append(listener)

    def _emit(
        self, kind: Literal["read", "write"], env: str, table: str, version: int, op: str
    ) -> None:
        event = TableEvent(kind, env, table, version, op)
        for listener in self._listeners:
            listener(event)

    def _location(
        self, name: str | TableName, environment: str | None, *, write: bool
    ) -> tuple[str, str, dict[str, str] | None]:
        table = TableName.parse(name)
        env = environment or self.environment
        if env == self.environment:
            self._check_write(write, env, table)
            return env, f"{self.root}/{table.schema}/{table.table}", self.storage_options
        other = self._environments.get(env)
        if other is None:
            known = ", ".join(self._environments) or "none (this lake was opened without a project)"
            raise EnvironmentAccessError(
                f"environment {env!r} is unknown to the {self.environment!r} lake; known: {known}"
            )
        kind = "write" if write else "read"
        granted = other.grants.write if write else other.grants.read
        if self.environment not in granted:
            raise EnvironmentAccessError(
                f"environment {self.environment!r} may not {kind} table {table} of environment "
                f"{env!r}: {env} grants {kind} to {', '.join(granted) or 'no one'}. Add "
                f"{self.environment!r} to environments.{env}.grants.{kind} in lakestack.yaml "
                "to allow it."
            )
        self._check_write(write, env, table)
        root = other.lake_root.rstrip("/")
        options = storage_options_for(root, other.storage_options)
        return env, f"{root}/{table.schema}/{table.table}", options

    def _check_write(self, write: bool, env: str, table: TableName) -> None:
        if write and self._guard is not None:
            self._guard(env, str(table), self.context.principal, self.context.run_id)

    def path(self, name: str | TableName, environment: str | None = None) -> str:
        """The storage location of a table."""
        return self._location(name, environment, write=False)[1]

    def _open(
        self, name: str | TableName, environment: str | None = None, *, write: bool = False
    ) -> DeltaTable:
        from deltalake import DeltaTable

        env, uri, options = self._location(name, environment, write=write)
        try:
            return DeltaTable(uri, storage_options=options)
        except Exception as exc:
            if (
                type(exc).__name__ == "TableNotFoundError"
                or "no files in log segment" in str(exc).lower()
            ):
                raise TableNotFoundError(
                    f"table {TableName.parse(name)} does not exist in the {env!r} lake ({uri}). "
                    "Check the name with `lakestack tables list`, or write it first."
                ) from None
            raise

    def exists(self, name: str | TableName, environment: str | None = None) -> bool:
        """Whether the table exists."""
        from deltalake import DeltaTable

        _, uri, options = self._location(name, environment, write=False)
        return DeltaTable.is_deltatable(uri, storage_options=options)

    def _properties(self, operation: str, *, retries: int | None = None) -> Any:
        from deltalake import CommitProperties

        return CommitProperties(
            custom_metadata=self.context.to_metadata(operation), max_commit_retries=retries
        )

    # -- writes -----------------------------------------------------------------------------

    def create(
        self,
        name: str | TableName,
        schema: pa.Schema,
        *,
        partition_by: list[str] | None = None,
        description: str | None = None,
        exist_ok: bool = False,
        environment: str | None = None,
    ) -> int:
        """Create an empty table with a schema.

        Returns:
            The table's version (0 for a new table).

        Raises:
            TableExistsError: the table exists and `exist_ok` is false.
        """
        from deltalake import DeltaTable

        env, uri, options = self._location(name, environment, write=True)
        if DeltaTable.is_deltatable(uri, storage_options=options):
            if exist_ok:
                return DeltaTable(uri, storage_options=options).version()
            raise TableExistsError(
                f"table {TableName.parse(name)} already exists in the {env!r} lake; "
                "pass exist_ok=True to keep it, or write to it instead"
            )
        table = DeltaTable.create(
            uri,
            schema,
            partition_by=partition_by,
            name=str(TableName.parse(name)),
            description=description,
            storage_options=options,
            commit_properties=self._properties("create"),
        )
        self._emit("write", env, str(TableName.parse(name)), table.version(), "create")
        return table.version()

    def append(
        self,
        name: str | TableName,
        data: Any,
        *,
        partition_by: list[str] | None = None,
        environment: str | None = None,
    ) -> int:
        """Append rows, creating the table on first write; new columns evolve the schema.

        Concurrent appends from several processes all land (Delta retries the commit).

        Returns:
            The version this write created.

        Raises:
            SchemaEvolutionError: a column's type would change incompatibly.
        """
        return self._write(name, data, "append", partition_by=partition_by, environment=environment)

    def overwrite(
        self,
        name: str | TableName,
        data: Any,
        *,
        predicate: str | None = None,
        replace_schema: bool = False,
        partition_by: list[str] | None = None,
        environment: str | None = None,
    ) -> int:
        """Replace the table's rows (or only those matching `predicate`).

        Args:
            replace_schema: also replace the schema, allowing type changes.

        Returns:
            The version this write created.
        """
        return self._write(
            name,
            data,
            "overwrite",
            predicate=predicate,
            replace_schema=replace_schema,
            partition_by=partition_by,
            environment=environment,
        )

    def _write(
        self,
        name: str | TableName,
        data: Any,
        mode: Literal["append", "overwrite"],
        *,
        predicate: str | None = None,
        replace_schema: bool = False,
        partition_by: list[str] | None = None,
        environment: str | None = None,
    ) -> int:
        import pyarrow as pa
        from deltalake import DeltaTable, write_deltalake

        table_name = str(TableName.parse(name))
        env, uri, options = self._location(name, environment, write=True)
        arrow = to_arrow(data, f"data for {table_name}")
        target: str | DeltaTable = uri
        schema_mode: Literal["merge", "overwrite"] | None = None
        if replace_schema:
            schema_mode = "overwrite"
        elif DeltaTable.is_deltatable(uri, storage_options=options):
            target = DeltaTable(uri, storage_options=options)
            arrow, adds = conform(table_name, pa.schema(target.schema().to_arrow()), arrow)
            if adds or set(pa.schema(target.schema().to_arrow()).names) - set(arrow.schema.names):
                schema_mode = "merge"
        try:
            write: Any = write_deltalake  # its overloads confuse mypy for a variable mode
            write(
                target,
                arrow,
                mode=mode,
                schema_mode=schema_mode,
                predicate=predicate,
                partition_by=partition_by if isinstance(target, str) else None,
                storage_options=options,
                commit_properties=self._properties(mode, retries=_APPEND_COMMIT_RETRIES),
            )
        except Exception as exc:
            if is_commit_conflict(exc):
                raise WriteConflictError(
                    f"{mode} to table {table_name} in the {env!r} lake conflicted with a "
                    f"concurrent writer and was not committed: {exc}. Retry the write."
                ) from exc
            raise
        version = (
            DeltaTable(uri, storage_options=options).version()
            if isinstance(target, str)
            else target.version()
        )
        self._emit("write", env, table_name, version, mode)
        return version

    def merge(
        self,
        name: str | TableName,
        data: Any,
        keys: Sequence[str],
        *,
        delete_unmatched: bool = False,
        environment: str | None = None,
    ) -> int:
        """Upsert rows by key: update rows whose keys match, insert the others.

        A merge that conflicts with a concurrent writer is retried on the new table state, up to
        a few times with backoff; then it fails with `WriteConflictError`. It is never dropped.

        Args:
            keys: the key columns; the new data must not repeat a key.
            delete_unmatched: also delete table rows whose keys are absent from `data`.

        Returns:
            The version this merge created (the table is created if it does not exist).

        Raises:
            LakeError: a key column is missing or the new data repeats a key.
            WriteConflictError: concurrent writers kept conflicting.
        """
        import pyarrow as pa
        from deltalake import DeltaTable

        table_name = str(TableName.parse(name))
        env, uri, options = self._location(name, environment, write=True)
        arrow = to_arrow(data, f"data for {table_name}")
        missing = [key for key in keys if key not in arrow.schema.names]
        if not keys or missing:
            raise LakeError(
                f"merge into {table_name}: key column(s) {', '.join(missing) or '(none given)'} "
                f"not in the data; the data has {', '.join(arrow.schema.names)}"
            )
        if arrow.num_rows and arrow.group_by(list(keys)).aggregate([]).num_rows != arrow.num_rows:
            raise LakeError(
                f"merge into {table_name}: the new data repeats some values of the keys "
                f"({', '.join(keys)}); keep one row per key before merging"
            )
        if not DeltaTable.is_deltatable(uri, storage_options=options):
            return self._write(name, arrow, "append", environment=environment)
        predicate = " AND ".join(f"t.`{key}` = s.`{key}`" for key in keys)
        for attempt in range(_MERGE_RETRIES + 1):
            table = DeltaTable(uri, storage_options=options)
            current = pa.schema(table.schema().to_arrow())
            source, adds = conform(table_name, current, arrow)
            try:
                merger = table.merge(
                    source,
                    predicate=predicate,
                    source_alias="s",
                    target_alias="t",
                    merge_schema=adds,
                    commit_properties=self._properties("merge", retries=0),
                )
                merger = merger.when_matched_update_all().when_not_matched_insert_all()
                if delete_unmatched:
                    merger = merger.when_not_matched_by_source_delete()
                merger.execute()
            except Exception as exc:
                if not is_commit_conflict(exc):
                    raise
                if attempt == _MERGE_RETRIES:
                    raise WriteConflictError(
                        f"merge into {table_name} in the {env!r} lake kept conflicting with "
                        f"concurrent writers after {_MERGE_RETRIES} retries and was not "
                        f"committed: {exc}. Nothing was written; run it again."
                    ) from exc
                time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
                continue
            version = table.version()
            self._emit("write", env, table_name, version, "merge")
            return version
        raise AssertionError("unreachable")  # pragma: no cover

    def delete(
        self, name: str | TableName, predicate: str, *, environment: str | None = None
    ) -> int:
        """Delete the rows matching a SQL predicate, e.g. `"month < 3"`.

        Returns:
            The version this delete created.
        """
        env = environment or self.environment
        table = self._open(name, environment, write=True)
        try:
            table.delete(predicate, commit_properties=self._properties("delete"))
        except Exception as exc:
            if is_commit_conflict(exc):
                raise WriteConflictError(
                    f"delete from {TableName.parse(name)} conflicted with a concurrent writer: "
                    f"{exc}. Nothing was deleted; run it again."
                ) from exc
            raise LakeError(
                f"delete from {TableName.parse(name)} with predicate {predicate!r} failed: {exc}"
            ) from exc
        self._emit("write", env, str(TableName.parse(name)), table.version(), "delete")
        return table.version()

    # -- reads ------------------------------------------------------------------------------

    def open(
        self,
        name: str | TableName | TableRef,
        *,
        version: int | None = None,
        as_of: datetime | str | None = None,
        environment: str | None = None,
    ) -> DeltaTable:
        """The `DeltaTable` at a version or timestamp (the latest by default)."""
        if isinstance(name, TableRef):
            version = name.version if version is None else version
            as_of = name.as_of if as_of is None else as_of
            name = name.name
        elif isinstance(name, str) and "@" in name:
            return self.open(
                TableRef.parse(name), version=version, as_of=as_of, environment=environment
            )
        table = self._open(name, environment)
        if version is not None or as_of is not None:
            pin: int | datetime | str = version if version is not None else as_of  # type: ignore[assignment]
            try:
                table.load_as_version(pin)
            except Exception as exc:
                raise LakeError(
                    f"table {TableName.parse(name)} has no version at {pin}: {exc}. "
                    "See `lakestack tables history` for its versions."
                ) from exc
        return table

    def read(
        self,
        name: str | TableName | TableRef,
        *,
        columns: Sequence[str] | None = None,
        filters: Filters | None = None,
        version: int | None = None,
        as_of: datetime | str | None = None,
        limit: int | None = None,
        environment: str | None = None,
    ) -> pa.Table:
        """Read a table (or a version of it) as Arrow.

        Args:
            name: `schema.table`, optionally pinned (`silver.flights@7`).
            columns: the columns to read (all by default).
            filters: deltalake DNF filters, e.g. `[("origin", "=", "JFK")]`.
            version: read this Delta version (time travel).
            as_of: read the version current at this time.
            limit: read at most this many rows (without reading the rest).
            environment: another environment's lake (needs a read grant).

        Raises:
            TableNotFoundError: no such table.
            LakeError: an unknown column or a version that does not exist.
        """
        table = self.open(name, version=version, as_of=as_of, environment=environment)
        ref = name.name if isinstance(name, TableRef) else TableRef.parse(str(name)).name
        known = [field.name for field in table.schema().fields]
        unknown = [c for c in (columns or []) if c not in known]
        if unknown:
            raise LakeError(
                f"table {ref} has no column(s) {', '.join(unknown)}; its columns: {', '.join(known)}"
            )
        try:
            if limit is not None:
                result = table.to_pyarrow_dataset().head(
                    limit, columns=list(columns) if columns is not None else None
                )
            else:
                result = table.to_pyarrow_table(
                    columns=list(columns) if columns is not None else None,
                    filters=list(filters) if filters else None,  # type: ignore[arg-type]
                )
        except Exception as exc:
            raise LakeError(f"reading {ref} with filters {filters!r} failed: {exc}") from exc
        self._emit("read", environment or self.environment, str(ref), table.version(), "read")
        return result

    def scan(
        self,
        name: str | TableName | TableRef,
        *,
        version: int | None = None,
        as_of: datetime | str | None = None,
        environment: str | None = None,
    ) -> tuple[pa.dataset.Dataset, int]:
        """A table (or a version of it) as an Arrow dataset to stream batch by batch, recorded
        as a read of that version like `read` (what lineage sees).

        Returns:
            The dataset and the Delta version it reads.

        Raises:
            TableNotFoundError: no such table.
            LakeError: a version that does not exist.
        """
        table = self.open(name, version=version, as_of=as_of, environment=environment)
        ref = name.name if isinstance(name, TableRef) else TableRef.parse(str(name)).name
        self._emit("read", environment or self.environment, str(ref), table.version(), "read")
        return table.to_pyarrow_dataset(), table.version()

    def read_polars(self, name: str | TableName | TableRef, **kwargs: Any) -> pl.DataFrame:
        """`read` as a Polars DataFrame; the same arguments."""
        import polars as pl

        frame = pl.from_arrow(self.read(name, **kwargs))
        assert isinstance(frame, pl.DataFrame)
        return frame

    def version(self, name: str | TableName, environment: str | None = None) -> int:
        """The table's latest version."""
        return self._open(name, environment).version()

    def schema(self, name: str | TableName, environment: str | None = None) -> pa.Schema:
        """The table's Arrow schema."""
        import pyarrow as pa

        return pa.schema(self._open(name, environment).schema().to_arrow())

    def history(
        self, name: str | TableName, *, limit: int | None = None, environment: str | None = None
    ) -> list[Commit]:
        """The table's commits, newest first, with lakestack's commit metadata."""
        entries = stable_history(
            lambda: self._open(name, environment), str(TableName.parse(name)), limit
        )
        return [Commit.from_delta(e) for e in entries]

    # -- maintenance ------------------------------------------------------------------------

    def optimize(
        self,
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
        env, _, _ = self._location(name, environment, write=True)
        table_name = str(TableName.parse(name))
        result = optimize_table(
            lambda: self._open(name, environment, write=True),
            table=table_name,
            environment=env,
            properties=self._properties("optimize", retries=0),
            zorder_by=tuple(zorder_by or ()),
            target_size=target_size,
        )
        if result.committed:
            self._emit("write", env, table_name, result.version, "optimize")
        return result

    def vacuum(
        self,
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
        env, _, _ = self._location(name, environment, write=True)
        table_name = str(TableName.parse(name))
        delta = self._open(name, environment, write=True)
        before = delta.version()
        result = vacuum_table(
            delta,
            table=table_name,
            environment=env,
            properties=self._properties("vacuum"),
            retain_hours=retain_hours,
            dry_run=dry_run,
            force=force,
        )
        if result.version != before:
            self._emit("write", env, table_name, result.version, "vacuum")
        return result

    # -- catalog ----------------------------------------------------------------------------

    def tables(self, schema: str | None = None) -> list[str]:
        """The names of the tables in this lake (a local folder or an s3:// root), sorted."""
        from deltalake import DeltaTable

        if is_object_store(self.root):
            return list_tables(self.root, self.storage_options, schema)
        root = Path(self.root)
        if not root.is_dir():
            return []
        found = []
        for schema_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            if schema is not None and schema_dir.name != schema:
                continue
            for table_dir in sorted(p for p in schema_dir.iterdir() if p.is_dir()):
                if (table_dir / "_delta_log").is_dir() and DeltaTable.is_deltatable(str(table_dir)):
                    found.append(f"{schema_dir.name}.{table_dir.name}")
        return found

    def info(self, name: str | TableName, environment: str | None = None) -> TableInfo:
        """Schema, rows, version, size and last writer of a table."""
        from lakestack.lake._catalog import describe

        return describe(self, name, environment)

    def catalog(self, schema: str | None = None) -> list[TableInfo]:
        """`info` of every table of this lake, sorted by name."""
        return [self.info(name) for name in self.tables(schema)]
