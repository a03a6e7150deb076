"""How a write to one Delta table commits: create, append or overwrite (evolving the schema),
merge by key (retried when a concurrent writer wins), delete.

`Lake` resolves the table's location and the writer's access first, and tells its listeners
afterwards; these functions only write, recording the write context through `properties`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from lakestack.errors import LakeError, TableExistsError, WriteConflictError
from lakestack.lake._bulk import append_bulk, bulk_append_fits
from lakestack.lake._maintenance import is_commit_conflict, retry_conflicts
from lakestack.lake._reads import open_table
from lakestack.lake._schema import conform

if TYPE_CHECKING:
    import pyarrow as pa
    from deltalake import DeltaTable

__all__ = [
    "WriteTarget",
    "check_merge_keys",
    "create_table",
    "delete_rows",
    "merge_table",
    "write_table",
    "writer_properties",
]

_MERGE_RETRIES = 8
_DICTIONARY_SAMPLE = 4096
_APPEND_COMMIT_RETRIES = 100


@dataclass(frozen=True)
class WriteTarget:
    """A table about to be written.

    Attributes:
        table: `<schema>.<table>`.
        environment: the environment whose lake holds it.
        uri: its storage location.
        options: deltalake storage options for that location.
        properties: the commit properties of a write: (operation, max commit retries) ->
            `CommitProperties` carrying the writer's context.
    """

    table: str
    environment: str
    uri: str
    options: dict[str, str] | None
    properties: Callable[[str, int | None], Any]

    def exists(self) -> bool:
        """Whether the table exists."""
        from deltalake import DeltaTable

        return DeltaTable.is_deltatable(self.uri, storage_options=self.options)

    def open(self) -> DeltaTable:
        """The table's latest version.

        Raises:
            TableNotFoundError: the table does not exist.
        """
        return open_table(self.uri, self.options, self.table, self.environment)


def create_table(
    target: WriteTarget,
    schema: pa.Schema,
    *,
    partition_by: list[str] | None,
    description: str | None,
    exist_ok: bool,
) -> tuple[int, bool]:
    """Create an empty table; its version, and whether it was created now."""
    from deltalake import DeltaTable

    if target.exists():
        if exist_ok:
            return target.open().version(), False
        raise TableExistsError(
            f"table {target.table} already exists in the {target.environment!r} lake; "
            "pass exist_ok=True to keep it, or write to it instead"
        )
    table = DeltaTable.create(
        target.uri,
        schema,
        partition_by=partition_by,
        name=target.table,
        description=description,
        storage_options=target.options,
        commit_properties=target.properties("create", None),
    )
    return table.version(), True


def write_table(
    target: WriteTarget,
    arrow: pa.Table,
    mode: Literal["append", "overwrite"],
    *,
    predicate: str | None = None,
    replace_schema: bool = False,
    partition_by: list[str] | None = None,
    transaction: tuple[str, int] | None = None,
) -> int:
    """Append or overwrite rows, creating the table on first write and adding new columns;
    the version this write created (with `transaction`, an app's `(id, version)` marker).

    Raises:
        SchemaEvolutionError: a column's type would change incompatibly.
        WriteConflictError: a concurrent writer won; nothing was committed.
    """
    import pyarrow as pa

    if replace_schema:
        return _write(
            target, arrow, mode, target.uri, "overwrite", predicate, partition_by, transaction
        )
    if not target.exists():
        return _write(target, arrow, mode, target.uri, None, predicate, partition_by, transaction)
    existing = target.open()
    current = pa.schema(existing.schema().to_arrow())
    arrow, adds = conform(target.table, current, arrow)
    evolve = adds or set(current.names) - set(arrow.schema.names)
    schema_mode: Literal["merge"] | None = "merge" if evolve else None
    return _write(target, arrow, mode, existing, schema_mode, predicate, None, transaction)


def _write(
    target: WriteTarget,
    arrow: pa.Table,
    mode: Literal["append", "overwrite"],
    into: str | DeltaTable,
    schema_mode: Literal["merge", "overwrite"] | None,
    predicate: str | None,
    partition_by: list[str] | None,
    transaction: tuple[str, int] | None,
) -> int:
    """One `write_deltalake` call; the version it created."""
    from deltalake import Transaction, write_deltalake

    properties = target.properties(mode, _APPEND_COMMIT_RETRIES)
    if transaction is not None:
        properties.app_transactions = [Transaction(*transaction)]
    try:
        appending = mode == "append" and predicate is None
        if appending and not isinstance(into, str) and bulk_append_fits(into, arrow, schema_mode):
            return append_bulk(into, arrow, plain_columns(arrow), properties)
        write: Any = write_deltalake  # its overloads confuse mypy for a variable mode
        write(
            into,
            arrow,
            mode=mode,
            schema_mode=schema_mode,
            predicate=predicate,
            partition_by=partition_by,
            storage_options=target.options,
            commit_properties=properties,
            writer_properties=writer_properties(arrow),
        )
    except Exception as exc:
        if is_commit_conflict(exc):
            raise WriteConflictError(
                f"{mode} to table {target.table} in the {target.environment!r} lake conflicted "
                f"with a concurrent writer and was not committed: {exc}. Retry the write."
            ) from exc
        raise
    return target.open().version() if isinstance(into, str) else into.version()


def writer_properties(arrow: pa.Table) -> Any:
    """Parquet settings for `arrow`: no dictionary for numbers that are mostly distinct.

    A Parquet writer first tries a dictionary for every column and falls back to plain values
    once the dictionary grows too large. For numeric and time columns whose values are mostly
    distinct (features, predictions, ids, event times) the attempt saves nothing and costs most
    of the write: writing 1M rows of 13 random float64 columns took 2-3 times the CPU with it
    (benchmarks/batch_bench.py). Columns with few distinct values in the first 4,096 rows keep
    it, and small writes keep the writer's defaults (Snappy compression, as without settings).

    Returns:
        deltalake `WriterProperties`, or None for the defaults.
    """
    from deltalake import ColumnProperties, WriterProperties

    plain = {name: ColumnProperties(dictionary_enabled=False) for name in plain_columns(arrow)}
    return WriterProperties(compression="SNAPPY", column_properties=plain) if plain else None


def plain_columns(arrow: pa.Table) -> list[str]:
    """The numeric and time columns of `arrow` whose values are mostly distinct in its first
    4,096 rows (none for a smaller write): those written without a dictionary."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if arrow.num_rows < _DICTIONARY_SAMPLE:
        return []
    sample = arrow.slice(0, _DICTIONARY_SAMPLE)
    plain = []
    for field in sample.schema:
        kind = field.type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)) and not (
            pa.types.is_temporal(kind)
        ):
            continue
        if pc.count_distinct(sample.column(field.name)).as_py() * 2 > sample.num_rows:
            plain.append(field.name)
    return plain


def check_merge_keys(table: str, arrow: pa.Table, keys: Sequence[str]) -> None:
    """Refuse a merge whose key columns are missing or whose new rows repeat a key.

    Raises:
        LakeError: naming the columns.
    """
    missing = [key for key in keys if key not in arrow.schema.names]
    if not keys or missing:
        raise LakeError(
            f"merge into {table}: key column(s) {', '.join(missing) or '(none given)'} "
            f"not in the data; the data has {', '.join(arrow.schema.names)}"
        )
    if arrow.num_rows and arrow.group_by(list(keys)).aggregate([]).num_rows != arrow.num_rows:
        raise LakeError(
            f"merge into {table}: the new data repeats some values of the keys "
            f"({', '.join(keys)}); keep one row per key before merging"
        )


def merge_table(
    target: WriteTarget, arrow: pa.Table, keys: Sequence[str], *, delete_unmatched: bool
) -> int:
    """Upsert rows of an existing table by key, retrying on the new table state when a
    concurrent writer committed first; the version the merge created.

    Raises:
        WriteConflictError: concurrent writers kept conflicting; nothing was written.
    """
    import pyarrow as pa

    predicate = " AND ".join(f"t.`{key}` = s.`{key}`" for key in keys)

    def attempt() -> int:
        table = target.open()
        source, adds = conform(target.table, pa.schema(table.schema().to_arrow()), arrow)
        merger = table.merge(
            source,
            predicate=predicate,
            source_alias="s",
            target_alias="t",
            merge_schema=adds,
            commit_properties=target.properties("merge", 0),
        )
        merger = merger.when_matched_update_all().when_not_matched_insert_all()
        if delete_unmatched:
            merger = merger.when_not_matched_by_source_delete()
        merger.execute()
        return table.version()

    return retry_conflicts(
        attempt,
        _MERGE_RETRIES,
        lambda exc: (
            f"merge into {target.table} in the {target.environment!r} lake kept "
            f"conflicting with concurrent writers after {_MERGE_RETRIES} retries and was "
            f"not committed: {exc}. Nothing was written; run it again."
        ),
    )


def delete_rows(table: DeltaTable, target: WriteTarget, predicate: str) -> int:
    """Delete the rows of `table` matching a SQL predicate; the version this created.

    Raises:
        WriteConflictError: a concurrent writer won; nothing was deleted.
        LakeError: the predicate cannot be applied.
    """
    try:
        table.delete(predicate, commit_properties=target.properties("delete", None))
    except Exception as exc:
        if is_commit_conflict(exc):
            raise WriteConflictError(
                f"delete from {target.table} conflicted with a concurrent writer: "
                f"{exc}. Nothing was deleted; run it again."
            ) from exc
        raise LakeError(
            f"delete from {target.table} with predicate {predicate!r} failed: {exc}"
        ) from exc
    return table.version()
