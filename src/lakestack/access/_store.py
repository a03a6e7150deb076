"""The access tables of an environment's lake: appended rows, read back with a short cache.

Tokens, grants and the audit log live in the lake of the environment they govern, next to its
data, so that whoever holds that lake's storage credentials (in production: the control-plane
server) holds them too. They are written with deltalake directly, not through `Lake`, whose
writes are themselves checked and audited.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lakestack.system_tables import ACCESS_GRANTS, ACCESS_TOKENS, AUDIT

if TYPE_CHECKING:
    from lakestack.config import Environment

__all__ = [
    "AUDIT_TABLE",
    "GRANTS_TABLE",
    "TOKENS_TABLE",
    "append_rows",
    "forget_cache",
    "read_rows",
    "table_uri",
]

AUDIT_TABLE = AUDIT.name
TOKENS_TABLE = ACCESS_TOKENS.name
GRANTS_TABLE = ACCESS_GRANTS.name
_TABLES = {spec.name: spec for spec in (AUDIT, ACCESS_TOKENS, ACCESS_GRANTS)}

_CACHE_SECONDS = 2.0
_cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}
_handles: dict[str, Any] = {}  # open DeltaTables to append to, by location
_lock = threading.Lock()
_append_lock = threading.Lock()


def table_uri(env: Environment, table: str) -> str:
    """Where an access table of the environment lives."""
    schema, name = table.split(".")
    return f"{env.lake_root.rstrip('/')}/{schema}/{name}"


def append_rows(env: Environment, table: str, rows: Sequence[dict[str, Any]]) -> None:
    """Append rows in one Delta commit (concurrent appends all land)."""
    import pyarrow as pa
    from deltalake import CommitProperties, DeltaTable, write_deltalake

    uri = table_uri(env, table)
    data = pa.Table.from_pylist(list(rows), schema=_TABLES[table].arrow_schema())
    properties = CommitProperties(
        custom_metadata={"lakestack.operation": "append", "lakestack.environment": env.name},
        max_commit_retries=100,
    )
    options = env.storage_options or None
    # One append at a time per process: the open table is shared, and re-reading the whole
    # log for each audit row cost three times the append itself.
    with _append_lock:
        handle = _handles.get(uri)
        target: Any = handle if handle is not None else uri
        write_deltalake(target, data, mode="append", storage_options=options,
                        commit_properties=properties)  # fmt: skip
        if handle is None:
            _handles[uri] = DeltaTable(uri, storage_options=options)
    forget_cache(uri)


def read_rows(
    env: Environment, table: str, *, max_age: float = _CACHE_SECONDS
) -> list[dict[str, Any]]:
    """Every row of an access table (empty when it does not exist yet).

    Rows read less than `max_age` seconds ago in this process are returned from memory;
    this process's own appends clear that memory at once.
    """
    from deltalake import DeltaTable

    uri = table_uri(env, table)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(uri)
    if hit is not None and now - hit[0] < max_age:
        return hit[1]
    options = env.storage_options or None
    if not DeltaTable.is_deltatable(uri, storage_options=options):
        rows: list[dict[str, Any]] = []
    else:
        rows = DeltaTable(uri, storage_options=options).to_pyarrow_table().to_pylist()
    with _lock:
        _cache[uri] = (now, rows)
    return rows


def forget_cache(uri: str | None = None) -> None:
    """Drop cached rows of one table (or of all), so the next read goes to the lake."""
    with _lock:
        if uri is None:
            _cache.clear()
        else:
            _cache.pop(uri, None)
