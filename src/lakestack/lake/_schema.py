"""Schema evolution rules: additive changes pass, safe widenings cast, anything else is refused."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from lakestack.errors import LakeError, LakestackError, SchemaEvolutionError

__all__ = ["conform", "delta_type", "to_arrow"]

_INT_ORDER = [pa.int8(), pa.int16(), pa.int32(), pa.int64()]


def delta_type(t: pa.DataType) -> pa.DataType:
    """The type a Delta table stores for `t` (no large, view, unsigned or dictionary types)."""
    if pa.types.is_dictionary(t):
        return delta_type(t.value_type)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_uint8(t):
        return pa.int16()
    if pa.types.is_uint16(t):
        return pa.int32()
    if pa.types.is_uint32(t) or pa.types.is_uint64(t):
        return pa.int64()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz=t.tz)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return pa.list_(delta_type(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(delta_type(f.type)) for f in t])
    return t


def to_arrow(data: Any, what: str = "data", error: type[LakestackError] = LakeError) -> pa.Table:
    """An Arrow table from a pyarrow Table or RecordBatchReader, a Polars or pandas DataFrame,
    a list of dicts, or a mapping of column names to lists.

    Raises:
        error: `data` is none of these; the message names `what`.
    """
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatchReader):
        return data.read_all()
    module = type(data).__module__
    if module.startswith("polars"):
        return data.to_arrow()  # type: ignore[no-any-return]
    if module.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return pa.Table.from_pylist(data)
    try:
        return pa.table(data)
    except (TypeError, ValueError, pa.ArrowInvalid) as exc:
        raise error(
            f"cannot use a {type(data).__name__} as {what}: pass a pyarrow Table, a Polars or "
            "pandas DataFrame, a list of dicts, or a mapping of column names to lists"
        ) from exc


def _widens(source: pa.DataType, target: pa.DataType) -> bool:
    if source in _INT_ORDER and target in _INT_ORDER:
        return _INT_ORDER.index(source) <= _INT_ORDER.index(target)
    if pa.types.is_floating(target) and (
        pa.types.is_integer(source) or pa.types.is_floating(source)
    ):
        return bool(source.bit_width <= target.bit_width or pa.types.is_float64(target))
    if pa.types.is_null(source):
        return True
    if pa.types.is_timestamp(source) and pa.types.is_timestamp(target):
        return (source.tz is None) == (target.tz is None)
    return False


def conform(table_name: str, current: pa.Schema, data: pa.Table) -> tuple[pa.Table, bool]:
    """Make `data` fit the table's `current` schema.

    Columns of equal (normalised) type pass; a safe widening (int32 into int64, float32 into
    float64, int into float) is cast; new columns are an additive evolution.

    Returns:
        The data to write, and whether it adds columns (so the write must merge the schema).

    Raises:
        SchemaEvolutionError: a column's type cannot be converted safely; the message names the
            column and both types.
    """
    columns = {}
    for field in data.schema:
        if field.name not in current.names:
            continue
        target = current.field(field.name).type
        source = field.type
        if delta_type(source) == delta_type(target):
            continue
        if _widens(delta_type(source), delta_type(target)):
            columns[field.name] = target
            continue
        raise SchemaEvolutionError(
            f"table {table_name}: column {field.name!r} is {target} in the table but {source} "
            f"in the new data. Cast it to {target} before writing, or overwrite the table "
            "with replace_schema=True to change the column's type."
        )
    for name, target in columns.items():
        index = data.schema.get_field_index(name)
        data = data.set_column(index, pa.field(name, target), data.column(name).cast(target))
    adds = any(name not in current.names for name in data.schema.names)
    return data, adds
