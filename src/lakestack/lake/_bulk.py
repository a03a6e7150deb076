"""Large appends to a table on a local lake: the Parquet file written by pyarrow, the commit
made by deltalake.

deltalake's own writer took 2.4 times the CPU of pyarrow's for the same rows and Parquet
settings (1M rows of 15 numeric and 6 run columns, the output of batch scoring: 0.81 s
against 0.34 s; benchmarks/batch_bench.py), and a batch-scoring run spends most of its time
beyond the model in that writer. So an append of many rows to a table that exists, on a local
lake, with no schema change, no partitions and no constraints, writes its file with pyarrow
and commits it with `DeltaTable.create_write_transaction`: the same log entry (path, size,
statistics) and the same commit properties (writer context, idempotent-write marker, retries
on concurrent appends) as `write_deltalake`. Every other write goes through `write_deltalake`.

The file's statistics: row count; null counts, minimum and maximum of the integer and
floating-point columns (finite values only). Other columns carry no minimum and maximum, so
readers never skip a file on them (Delta's statistics are optional, column by column).
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lakestack.lake._storage import is_object_store

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

__all__ = ["BULK_ROWS", "append_bulk", "bulk_append_fits"]

BULK_ROWS = 65_536
"""Appends of fewer rows go through `write_deltalake` (its fixed cost is small there)."""


def bulk_append_fits(table: DeltaTable, arrow: pa.Table, schema_mode: str | None) -> bool:
    """Whether this append can take the pyarrow path (see the module's docstring)."""
    import pyarrow as pa

    if arrow.num_rows < BULK_ROWS or schema_mode is not None or is_object_store(table.table_uri):
        return False
    metadata = table.metadata()
    if metadata.partition_columns or any(
        key.startswith("delta.constraints.") for key in metadata.configuration
    ):
        return False
    protocol = table.protocol()
    if protocol.min_writer_version > 2 or protocol.writer_features:
        return False  # column mapping, generated or identity columns, ...: deltalake's writer
    current = pa.schema(table.schema().to_arrow())
    if any(not f.nullable or b"delta.invariants" in (f.metadata or {}) for f in current):
        return False  # deltalake's writer checks these
    return bool(current.names == arrow.schema.names)


def append_bulk(table: DeltaTable, arrow: pa.Table, plain: Sequence[str], properties: Any) -> int:
    """Write `arrow` as one Parquet file in the table's folder and commit it; the version.

    Args:
        plain: the columns written without a dictionary (`writer_properties`' choice).
        properties: the commit's `CommitProperties`.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from deltalake.transaction import AddAction

    root = _local_path(table.table_uri)
    name = f"part-00000-{uuid.uuid4()}-c000.snappy.parquet"
    path = os.path.join(root, name)
    schema = pa.schema(table.schema().to_arrow())
    dictionary = [n for n in arrow.schema.names if n not in set(plain)]
    pq.write_table(arrow.cast(schema), path, compression="snappy", use_dictionary=dictionary)
    stats = _stats(pq.ParquetFile(path).metadata, schema)
    info = os.stat(path)
    action = AddAction(name, info.st_size, {}, info.st_mtime_ns // 1_000_000, True, stats)
    before = table.version()
    try:
        table.create_write_transaction([action], "append", schema, commit_properties=properties)
    except BaseException:
        os.remove(path)  # not in the log: nobody reads it
        raise
    table.update_incremental()
    return _committed(root, name, before, table.version())


def _committed(root: str, name: str, after: int, latest: int) -> int:
    """The version whose commit adds the file `name` (concurrent appends may have landed
    around it, so it is found in the log, not assumed)."""
    for version in range(after + 1, latest + 1):
        with open(os.path.join(root, "_delta_log", f"{version:020d}.json"), "rb") as commit:
            if name.encode() in commit.read():
                return version
    raise RuntimeError(f"the commit adding {name} is not in the log of {root}")


def _local_path(uri: str) -> str:
    return uri.removeprefix("file://").rstrip("/")


def _stats(metadata: pq.FileMetaData, schema: pa.Schema) -> str:
    """Delta's `stats` of a file: numRecords, and nullCount, minValues and maxValues of every
    column when each has exact bounds here; else numRecords alone.

    All or nothing, because deltalake's reader (1.6) drops a file from a filtered read when
    the filtered column has no bounds in its statistics while others do; a file with no
    column statistics at all is always read. Exact bounds: integers, finite floats, booleans
    and strings of at most 32 characters (longer ones would be cut, as other writers cut
    them); a timestamp's text form in the statistics is left to deltalake's writer.
    """
    columns = _column_stats(metadata, schema)
    if columns is None:
        return json.dumps({"numRecords": metadata.num_rows})
    low, high, nulls = columns
    return json.dumps(
        {"numRecords": metadata.num_rows, "minValues": low, "maxValues": high, "nullCount": nulls}
    )


def _column_stats(
    metadata: pq.FileMetaData, schema: pa.Schema
) -> tuple[dict[str, Any], dict[str, Any], dict[str, int]] | None:
    """(minimum, maximum, nulls) by column, or None when a column has no exact bounds."""
    import pyarrow as pa

    low: dict[str, Any] = {}
    high: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    groups = [metadata.row_group(g) for g in range(metadata.num_row_groups)]
    leaves = {groups[0].column(i).path_in_schema: i for i in range(metadata.num_columns)}
    for field in schema:
        kind = field.type
        index = leaves.get(field.name)
        simple = pa.types.is_integer(kind) or pa.types.is_floating(kind)
        if index is None or not (simple or pa.types.is_boolean(kind) or pa.types.is_string(kind)):
            return None
        chunks = [group.column(index).statistics for group in groups]
        if any(c is None or c.null_count is None for c in chunks):
            return None
        nulls[field.name] = sum(c.null_count for c in chunks)
        if any(not c.has_min_max and c.null_count != c.num_values for c in chunks):
            return None  # values without bounds (the writer left them out)
        bounds = [(c.min, c.max) for c in chunks if c.has_min_max]
        if not bounds:
            continue  # all null: no bounds, as other writers leave them
        values = [v for pair in bounds for v in pair]
        if any(_inexact(v) for v in values):
            return None
        low[field.name] = min(b[0] for b in bounds)
        high[field.name] = max(b[1] for b in bounds)
    return low, high, nulls


def _inexact(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, str) and len(value) > 32
