"""Feature tables: Delta tables with primary keys, an optional event time, and metadata.

The metadata lives with the table itself, in the Delta table's configuration under the key
`lakestack.feature_table` (a small JSON document: primary keys, event-time column, owner, tags),
and the description in Delta's own `description` field. So it is versioned with the table,
travels with its folder, and `lakestack tables show` shows the description too. A table without
that key is a plain table, not a feature table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakestack.errors import FeatureError, TableNotFoundError
from lakestack.features._data import delta_type, to_polars
from lakestack.lake import Lake, TableName

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from lakestack.features._store import FeatureStore

__all__ = [
    "METADATA_KEY",
    "FeatureTable",
    "create_feature_table",
    "get_feature_table",
    "list_feature_tables",
    "update_feature_table",
    "write_features",
]

METADATA_KEY = "lakestack.feature_table"
_FORMAT = 1


@dataclass(frozen=True)
class FeatureTable:
    """A feature table as the catalog knows it.

    Attributes:
        name: `<schema>.<table>`.
        primary_keys: the columns that identify an entity (one row per key and event time).
        timestamp_key: the event-time column, or None for a table of static features.
        description: what the features are.
        owner: who answers for them.
        tags: free-form labels.
        version: the table's latest Delta version.
        schema: its Arrow schema.
    """

    name: str
    primary_keys: tuple[str, ...]
    timestamp_key: str | None
    description: str
    owner: str
    tags: dict[str, str] = field(default_factory=dict)
    version: int = 0
    schema: pa.Schema | None = None

    @property
    def features(self) -> list[str]:
        """The feature columns: every column that is neither a key nor the event time."""
        skip = {*self.primary_keys, self.timestamp_key}
        return [f.name for f in self.schema or [] if f.name not in skip]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (the CLI's `--json`)."""
        return {
            "name": self.name,
            "primary_keys": list(self.primary_keys),
            "timestamp_key": self.timestamp_key,
            "description": self.description,
            "owner": self.owner,
            "tags": dict(self.tags),
            "version": self.version,
            "features": self.features,
            "columns": [{"name": f.name, "type": str(f.type)} for f in self.schema or []],
        }


def _metadata(
    primary_keys: Sequence[str], timestamp_key: str | None, owner: str, tags: Mapping[str, str]
) -> str:
    return json.dumps(
        {
            "format": _FORMAT,
            "primary_keys": list(primary_keys),
            "timestamp_key": timestamp_key,
            "owner": owner,
            "tags": dict(tags),
        },
        sort_keys=True,
    )


def _parse(name: str, version: int, schema: pa.Schema, meta: Any) -> FeatureTable | None:
    raw = (meta.configuration or {}).get(METADATA_KEY)
    if raw is None:
        return None
    doc = json.loads(raw)
    return FeatureTable(
        name=name,
        primary_keys=tuple(doc["primary_keys"]),
        timestamp_key=doc.get("timestamp_key"),
        description=meta.description or "",
        owner=doc.get("owner", ""),
        tags={str(k): str(v) for k, v in (doc.get("tags") or {}).items()},
        version=version,
        schema=schema,
    )


def _commit(lake: Lake, operation: str) -> Any:
    from deltalake import CommitProperties

    return CommitProperties(custom_metadata=lake.context.to_metadata(operation))


def get_feature_table(lake: Lake, name: str) -> FeatureTable:
    """The feature table `name`.

    Raises:
        FeatureError: the table does not exist, or is a plain table without feature metadata.
    """
    import pyarrow as pa

    table_name = str(TableName.parse(name))
    try:
        delta = lake.open(table_name)
    except TableNotFoundError:
        raise FeatureError(
            f"feature table {table_name} does not exist in the {lake.environment!r} lake; "
            "create it with FeatureStore.create_feature_table (see `lakestack features list`)"
        ) from None
    table = _parse(
        table_name, delta.version(), pa.schema(delta.schema().to_arrow()), delta.metadata()
    )
    if table is None:
        raise FeatureError(
            f"table {table_name} is a plain table, not a feature table: it has no primary keys. "
            "Create a feature table with FeatureStore.create_feature_table, or register this one "
            "with create_feature_table(..., exist_ok=True)"
        )
    return table


def list_feature_tables(lake: Lake) -> list[FeatureTable]:
    """Every feature table of the lake, sorted by name."""
    found = []
    for name in lake.tables():
        try:
            found.append(get_feature_table(lake, name))
        except FeatureError:
            continue
    return found


def _check_schema(
    name: str, schema: pa.Schema, primary_keys: Sequence[str], timestamp_key: str | None
) -> None:
    import pyarrow as pa

    if not primary_keys:
        raise FeatureError(f"feature table {name}: give at least one primary key column")
    if len(set(primary_keys)) != len(primary_keys):
        raise FeatureError(f"feature table {name}: primary keys repeat a column: {primary_keys}")
    for column in [*primary_keys, *([timestamp_key] if timestamp_key else [])]:
        if column not in schema.names:
            raise FeatureError(
                f"feature table {name}: column {column!r} is not in the data; its columns are "
                f"{', '.join(schema.names)}"
            )
    for key in primary_keys:
        t = schema.field(key).type
        if not (
            pa.types.is_integer(t)
            or pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_string_view(t)
            or pa.types.is_date(t)
            or pa.types.is_timestamp(t)
            or pa.types.is_boolean(t)
            or pa.types.is_dictionary(t)
        ):
            raise FeatureError(
                f"feature table {name}: primary key {key!r} is {t}; keys must be integers, "
                "strings, booleans, dates or timestamps. Cast it before creating the table"
            )
    if timestamp_key is not None:
        t = schema.field(timestamp_key).type
        if not (pa.types.is_timestamp(t) or pa.types.is_date(t)):
            raise FeatureError(
                f"feature table {name}: event-time column {timestamp_key!r} is {t}; it must be a "
                "timestamp or a date. Parse it first (e.g. pl.col(...).str.to_datetime())"
            )
    if timestamp_key in primary_keys:
        raise FeatureError(
            f"feature table {name}: {timestamp_key!r} is both a primary key and the event time; "
            "list it only as timestamp_key"
        )


def create_feature_table(
    store: FeatureStore,
    name: str,
    *,
    primary_keys: Sequence[str],
    data: Any = None,
    schema: pa.Schema | None = None,
    timestamp_key: str | None = None,
    description: str = "",
    owner: str | None = None,
    tags: Mapping[str, str] | None = None,
    exist_ok: bool = False,
) -> FeatureTable:
    """Create a feature table (a Delta table with keys and metadata) from a schema or from data
    (written as its first rows). `FeatureStore.create_feature_table` is this function.

    With `exist_ok`, an existing table keeps its rows and its feature metadata is (re)written,
    so a plain table can be registered as a feature table.

    Args:
        store: the feature store (its lake holds the table).
        name: `schema.table`, e.g. `features.weather`.
        primary_keys: the columns identifying an entity.
        data: the first rows (Arrow, Polars, pandas or a column mapping); or give `schema`.
        schema: the Arrow schema of an empty table.
        timestamp_key: the event-time column; a table may hold many rows per key, one per
            time, and training sets join it point in time. None: one row per key.
        description: what the features are.
        owner: who answers for them (default: the writing principal).
        tags: free-form labels.
        exist_ok: keep an existing table (its metadata is rewritten) instead of failing.

    Returns:
        The table's description.

    Raises:
        FeatureError: no schema or data, a key or event-time column missing, null, repeated or
            of a wrong type, or the table exists and `exist_ok` is false.
    """
    lake = store.lake
    import pyarrow as pa

    table_name = str(TableName.parse(name))
    frame = to_polars(data) if data is not None else None
    if frame is None and schema is None:
        raise FeatureError(f"feature table {table_name}: pass data or a schema to create it")
    full_schema = frame.to_arrow().schema if frame is not None else schema
    assert full_schema is not None
    _check_schema(table_name, full_schema, primary_keys, timestamp_key)
    if frame is not None:
        _check_rows(table_name, frame, [*primary_keys, *([timestamp_key] if timestamp_key else [])])
    owner = owner if owner is not None else lake.context.principal
    meta = _metadata(primary_keys, timestamp_key, owner, tags or {})
    if lake.exists(table_name):
        if not exist_ok:
            raise FeatureError(
                f"table {table_name} already exists in the {lake.environment!r} lake; pass "
                "exist_ok=True to keep it (its metadata is updated), or write to it"
            )
        existing = pa.schema(lake.open(table_name).schema().to_arrow())
        _check_schema(table_name, existing, primary_keys, timestamp_key)
    else:
        empty = pa.schema([f.with_type(delta_type(f.type)) for f in full_schema])
        lake.create(table_name, empty, description=description or None)
    delta = lake.open(table_name)
    delta.alter.set_table_properties(
        {METADATA_KEY: meta}, raise_if_not_exists=False, commit_properties=_commit(lake, "alter")
    )
    if exist_ok and description:
        delta.alter.set_table_description(description, commit_properties=_commit(lake, "alter"))
    if frame is not None and frame.height:
        write_features(lake, table_name, frame)
    return get_feature_table(lake, table_name)


def update_feature_table(
    lake: Lake,
    name: str,
    *,
    description: str | None = None,
    owner: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> FeatureTable:
    """Change a feature table's description, owner or tags (`None` keeps the current value)."""
    table = get_feature_table(lake, name)
    delta = lake.open(table.name)
    meta = _metadata(
        table.primary_keys,
        table.timestamp_key,
        table.owner if owner is None else owner,
        table.tags if tags is None else tags,
    )
    delta.alter.set_table_properties(
        {METADATA_KEY: meta}, raise_if_not_exists=False, commit_properties=_commit(lake, "alter")
    )
    if description is not None:
        delta.alter.set_table_description(description, commit_properties=_commit(lake, "alter"))
    return get_feature_table(lake, table.name)


def _check_rows(table_name: str, frame: pl.DataFrame, keys: list[str]) -> None:
    for column in keys:
        if column not in frame.columns:
            raise FeatureError(
                f"write to feature table {table_name}: column {column!r} is missing from the "
                f"data (its columns: {', '.join(frame.columns)}); every row needs its keys"
                + (" and event time" if len(keys) > 1 else "")
            )
        nulls = frame.get_column(column).null_count()
        if nulls:
            raise FeatureError(
                f"write to feature table {table_name}: column {column!r} has {nulls} null "
                "value(s); keys and event times cannot be null. Drop or fill those rows first"
            )
    if frame.height and frame.select(keys).is_duplicated().any():
        repeats = int(frame.select(keys).is_duplicated().sum())
        raise FeatureError(
            f"write to feature table {table_name}: {repeats} rows repeat a value of "
            f"({', '.join(keys)}); keep one row per key (and event time), "
            f"e.g. df.unique({keys!r}, keep='last')"
        )


def write_features(lake: Lake, name: str, data: Any, *, mode: str = "merge") -> int:
    """Write rows to a feature table.

    `merge` (the default) upserts by the primary keys and the event time: a row whose keys and
    time exist replaces the old one, others are inserted. `overwrite` replaces every row. The
    rows are written in key and time order.

    Returns:
        The Delta version written.

    Raises:
        FeatureError: a key or event-time column is missing or null, or rows repeat a key.
    """
    if mode not in ("merge", "overwrite"):
        raise FeatureError(f"write mode {mode!r} is not known: use 'merge' or 'overwrite'")
    table = get_feature_table(lake, name)
    frame = to_polars(data)
    keys = [*table.primary_keys, *([table.timestamp_key] if table.timestamp_key else [])]
    _check_rows(table.name, frame, keys)
    # Rows in key and time order: the files and row groups of the table are then clustered by
    # key, so that a key range's read skips the others (training sets built by key range), and
    # the point-in-time join's sort of the feature rows finds them in order.
    arrow = frame.sort(keys).to_arrow()
    if mode == "overwrite":
        return lake.overwrite(table.name, arrow)
    if not lake.open(table.name).file_uris():
        return lake.append(table.name, arrow)  # nothing to merge with: a plain append is faster
    return lake.merge(table.name, arrow, keys)
