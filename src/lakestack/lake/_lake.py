"""The lake of one environment: Delta tables named `<schema>.<table>` under a root."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lakestack.errors import EnvironmentAccessError, LakeError
from lakestack.lake._catalog import TableCatalog
from lakestack.lake._changes import TableChanges
from lakestack.lake._events import TableEvent, TableListener
from lakestack.lake._log import stable_history, version_at
from lakestack.lake._maintenance import TableMaintenance
from lakestack.lake._metadata import Commit, WriteContext, code_version
from lakestack.lake._names import TableName, TableRef
from lakestack.lake._reads import Filters, open_table, read_arrow, read_frame
from lakestack.lake._schema import to_arrow
from lakestack.lake._storage import storage_options as storage_options_for
from lakestack.lake._writes import (
    WriteTarget,
    check_merge_keys,
    create_table,
    delete_rows,
    merge_table,
    write_table,
)

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa
    from deltalake import DeltaTable

    from lakestack.access import TableWriteGuard
    from lakestack.config import Environment, Project

__all__ = ["Lake"]

_PINS = ("version", "as_of", "environment")


class Lake(TableCatalog, TableMaintenance, TableChanges):
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
        env, uri, options = self._location(name, environment, write=write)
        return open_table(uri, options, str(TableName.parse(name)), env)

    def exists(self, name: str | TableName, environment: str | None = None) -> bool:
        """Whether the table exists."""
        from deltalake import DeltaTable

        _, uri, options = self._location(name, environment, write=False)
        return DeltaTable.is_deltatable(uri, storage_options=options)

    def _properties(self, operation: str, retries: int | None = None) -> Any:
        from deltalake import CommitProperties

        return CommitProperties(
            custom_metadata=self.context.to_metadata(operation), max_commit_retries=retries
        )

    def _target(self, name: str | TableName, environment: str | None) -> WriteTarget:
        env, uri, options = self._location(name, environment, write=True)
        return WriteTarget(str(TableName.parse(name)), env, uri, options, self._properties)

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
        target = self._target(name, environment)
        version, created = create_table(
            target, schema, partition_by=partition_by, description=description, exist_ok=exist_ok
        )
        if created:
            self._emit("write", target.environment, target.table, version, "create")
        return version

    def append(
        self,
        name: str | TableName,
        data: Any,
        *,
        partition_by: list[str] | None = None,
        environment: str | None = None,
        transaction: tuple[str, int] | None = None,
    ) -> int:
        """Append rows, creating the table on first write; new columns evolve the schema.

        Concurrent appends from several processes all land (Delta retries the commit).

        Args:
            transaction: `(app_id, version)`, recorded in the same commit (Delta's idempotent
                write marker, read back with `transaction_version`); two writers of one
                `app_id` at once conflict: one fails with `WriteConflictError`.

        Returns:
            The version this write created.

        Raises:
            SchemaEvolutionError: a column's type would change incompatibly.
        """
        return self._write(
            name,
            data,
            "append",
            partition_by=partition_by,
            environment=environment,
            transaction=transaction,
        )

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
        transaction: tuple[str, int] | None = None,
    ) -> int:
        target = self._target(name, environment)
        arrow = to_arrow(data, f"data for {target.table}")
        version = write_table(
            target,
            arrow,
            mode,
            predicate=predicate,
            replace_schema=replace_schema,
            partition_by=partition_by,
            transaction=transaction,
        )
        self._emit("write", target.environment, target.table, version, mode)
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
        target = self._target(name, environment)
        arrow = to_arrow(data, f"data for {target.table}")
        check_merge_keys(target.table, arrow, keys)
        if target.exists():
            op, version = (
                "merge",
                merge_table(target, arrow, keys, delete_unmatched=delete_unmatched),
            )
        else:
            op, version = "append", write_table(target, arrow, "append")
        self._emit("write", target.environment, target.table, version, op)
        return version

    def delete(
        self, name: str | TableName, predicate: str, *, environment: str | None = None
    ) -> int:
        """Delete the rows matching a SQL predicate, e.g. `"month < 3"`.

        Returns:
            The version this delete created.
        """
        target = self._target(name, environment)
        version = delete_rows(target.open(), target, predicate)
        self._emit("write", target.environment, target.table, version, "delete")
        return version

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
        if isinstance(name, str) and "@" in name:
            name = TableRef.parse(name)
        if isinstance(name, TableRef):
            version = name.version if version is None else version
            as_of = name.as_of if as_of is None else as_of
            name = name.name
        table = self._open(name, environment)
        if version is None and as_of is not None:
            label = str(TableName.parse(name))  # by `history`'s times, not Delta's file times
            version = version_at(stable_history(lambda: table, label), as_of, label)
        if version is not None:
            try:
                table.load_as_version(version)
            except Exception as exc:
                raise LakeError(
                    f"table {TableName.parse(name)} has no version at {version}: {exc}. "
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
        ref = name.name if isinstance(name, TableRef) else TableRef.parse(str(name)).name
        with self._reading(name, version, as_of, environment) as table:
            result = read_arrow(table, str(ref), columns=columns, filters=filters, limit=limit)
            read = table.version()
        self._emit("read", environment or self.environment, str(ref), read, "read")
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
        """`read` as a Polars DataFrame; the same arguments. Without filters or a limit, Polars
        reads the files itself (`read_frame`: the same frame, without Arrow's dataset)."""
        import polars as pl

        if kwargs.get("filters") or kwargs.get("limit") is not None:
            frame = pl.from_arrow(self.read(name, **kwargs))
            assert isinstance(frame, pl.DataFrame)
            return frame
        columns, pins = kwargs.pop("columns", None), [kwargs.pop(k, None) for k in _PINS]
        if set(kwargs) - {"filters", "limit"}:
            raise TypeError(f"read_polars() got unexpected arguments: {sorted(kwargs)}")
        ref = name.name if isinstance(name, TableRef) else TableRef.parse(str(name)).name
        with self._reading(name, *pins) as table:
            result = read_frame(table, str(ref), columns=columns)
            read = table.version()
        self._emit("read", pins[2] or self.environment, str(ref), read, "read")
        return result

    def version(self, name: str | TableName, environment: str | None = None) -> int:
        """The table's latest version."""
        with self._reading(TableName.parse(name), None, None, environment) as table:
            return table.version()

    def schema(self, name: str | TableName, environment: str | None = None) -> pa.Schema:
        """The table's Arrow schema."""
        import pyarrow as pa

        with self._reading(TableName.parse(name), None, None, environment) as table:
            return pa.schema(table.schema().to_arrow())

    def history(
        self, name: str | TableName, *, limit: int | None = None, environment: str | None = None
    ) -> list[Commit]:
        """The table's commits, newest first, with lakestack's commit metadata."""
        entries = stable_history(
            lambda: self._open(name, environment), str(TableName.parse(name)), limit
        )
        return [Commit.from_delta(e) for e in entries]
