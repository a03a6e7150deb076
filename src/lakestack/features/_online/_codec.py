"""Arrow columns to plain values (int, float, str, bytes, None) and back, without loss.

Both online stores keep plain values: timestamps, dates, times and durations as integers in
their Arrow unit, booleans as 0/1, decimals as text, nested values (lists, structs) as JSON text,
and floats as floats, except NaN and infinities, kept as the text `nan`, `inf`, `-inf` (SQLite
turns a NaN into NULL and JSON has no NaN). Decoding uses the published Arrow schema, so an int
comes back an int, a timestamp a timestamp with its unit and zone, and a null a null.
"""

from __future__ import annotations

import base64
import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["decode_column", "encode_column", "storage_type"]


def storage_type(t: pa.DataType) -> pa.DataType:
    """The Arrow type of the plain values stored for a column of type `t`."""
    import pyarrow as pa

    if pa.types.is_timestamp(t) or pa.types.is_duration(t) or pa.types.is_date64(t):
        return pa.int64()
    if pa.types.is_time64(t):
        return pa.int64()
    if pa.types.is_date32(t) or pa.types.is_time32(t):
        return pa.int32()
    if pa.types.is_boolean(t):
        return pa.int8()
    if pa.types.is_decimal(t) or _nested(t):
        return pa.string()
    return t


def _nested(t: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_struct(t)
        or pa.types.is_map(t)
    )


def _temporal(t: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_timestamp(t)
        or pa.types.is_date(t)
        or pa.types.is_time(t)
        or pa.types.is_duration(t)
    )


def _binary(t: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t))


def encode_column(array: pa.Array | pa.ChunkedArray, *, binary_as_text: bool) -> list[Any]:
    """The plain values of one column.

    Args:
        binary_as_text: encode binary values as base64 text (for JSON) instead of bytes.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    t = array.type
    if pa.types.is_dictionary(t):
        array = array.cast(t.value_type)
        t = t.value_type
    if _nested(t):
        return [None if v is None else json.dumps(v, default=str) for v in array.to_pylist()]
    if _binary(t) and binary_as_text:
        return [None if v is None else base64.b64encode(v).decode() for v in array.to_pylist()]
    target = storage_type(t)
    if target != t:
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        # a view reinterprets the buffers (temporal values are integers); a cast is 10x slower
        array = array.view(target) if _temporal(t) else array.cast(target)
    values: list[Any] = array.to_pylist()
    if pa.types.is_floating(t) and len(array) and not pc.all(pc.is_finite(array)).as_py():
        values = [
            str(v) if isinstance(v, float) and not math.isfinite(v) else v for v in values
        ]  # `all` skips nulls: false only when some value is NaN or infinite
    return values


def decode_column(values: list[Any], t: pa.DataType, *, binary_as_text: bool) -> pa.Array:
    """An Arrow array of type `t` from the plain values `encode_column` made."""
    import pyarrow as pa

    value_type = t.value_type if pa.types.is_dictionary(t) else t
    if _nested(value_type):
        array = pa.array([None if v is None else json.loads(v) for v in values], type=value_type)
    elif _binary(value_type) and binary_as_text:
        decoded = [None if v is None else base64.b64decode(v) for v in values]
        array = pa.array(decoded, type=value_type)
    elif pa.types.is_floating(value_type):
        try:
            array = pa.array(values, type=value_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            array = pa.array([float(v) if isinstance(v, str) else v for v in values], value_type)
    elif _temporal(value_type):
        array = pa.array(values, type=value_type)  # integers are taken as the raw values
    elif pa.types.is_boolean(value_type):
        array = pa.array([None if v is None else bool(v) for v in values], type=value_type)
    else:
        target = storage_type(value_type)
        array = pa.array(values, type=target)
        if target != value_type:
            array = array.cast(value_type)
    return array.cast(t) if t != value_type else array
