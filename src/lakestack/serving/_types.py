"""Value types, end to end: one mapping from MLflow schema types and context column types to
the request check, the OpenAPI document, the model's input and the inference table's column.

| MLflow type | context type | JSON value accepted | Arrow column | OIP datatype |
|---|---|---|---|---|
| `boolean` | `bool` | `true` / `false` | `bool` | `BOOL` |
| `integer` | | an integer in -2**31 .. 2**31-1 | `int32` | `INT32` |
| `long` | `int64` | an integer in -2**63 .. 2**63-1 | `int64` | `INT64` |
| `float` | | a number within +-3.4e38 | `float` (32 bits) | `FP32` |
| `double` | `float64` | a number | `double` | `FP64` |
| `string` | `string` | a string | `string` | `BYTES` |
| `binary` | | base64 text | `binary` | `BYTES` |
| `datetime` | `timestamp` | ISO 8601 text (naive = UTC) or epoch seconds, 1678 to 2261 | `timestamp[us, UTC]` | `BYTES` |

The OIP datatype is what an Open Inference Protocol client is told a column is (model
metadata); a tensor of another datatype of the same kind is accepted too (`OIP_DATATYPES`,
`oip_accepts`): any integer or float datatype for a number column (its values are then checked
as the column's), BYTES for text, and numbers for a time (epoch seconds).

A value passes `ValueType.check` only if its column can hold it, so that every answered
request can be logged. The checked ("canonical") value is a plain JSON value, what the spool
holds and the replay reads back: binary stays base64 text, and a time becomes epoch
microseconds. The range of a time is what pandas holds (nanoseconds in 64 bits), since MLflow
hands `datetime` columns to a model as `datetime64[ns]`.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ANY",
    "CONTEXT_TYPES",
    "MLFLOW_TYPES",
    "OIP_DATATYPES",
    "TIMESTAMP",
    "OipDatatype",
    "ValueType",
    "mlflow_type",
    "oip_accepts",
    "oip_datatype",
    "shown",
]

_F32_MAX = 3.4028234663852886e38
_EXACT = 2.0**53  # floats hold every integer below this
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# epoch seconds whose microseconds a pandas datetime64[ns] still holds
_SECONDS = 9_223_372_036
_YEAR = r"(?:167[89]|16[89]\d|1[7-9]\d\d|20\d\d|21\d\d|22[0-5]\d|226[01])"
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    r"|02-(?:0[1-9]|1\d|2[0-8]))"
)
_CLOCK = r"[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?"
_OFFSET = r"(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?"
ISO_PATTERN = f"^{_YEAR}-{_MONTH_DAY}(?:{_CLOCK}{_OFFSET})?$"
"""ISO 8601 times the endpoint accepts (and the OpenAPI document states), 1678 to 2261."""
_ISO = re.compile(ISO_PATTERN)
_BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


@dataclass(frozen=True)
class ValueType:
    """One column type, from the request's JSON value to the inference table's Arrow column.

    Attributes:
        name: the MLflow type name (`long`), or `timestamp` for times.
        what: what a value must be, for error messages ("an integer from ... to ...").
        json_schema: the JSON schema of a non-null value (the OpenAPI document).
        arrow_name: the Arrow type of the inference table's column (None: logged as JSON).
        numeric: a number the NumPy fast path takes.
        holds_null: MLflow can hand a null in such a column to a model (not integers).
    """

    name: str
    what: str
    json_schema: Mapping[str, Any]
    arrow_name: str | None
    convert: Callable[[Any], Any]
    parse_text: Callable[[str], Any]
    numeric: bool = False
    holds_null: bool = True

    def check(self, value: Any) -> Any:
        """The canonical value of a non-null JSON value.

        Raises:
            ValueError: the value is not of this type or does not fit its column.
        """
        return self.convert(value)

    def from_text(self, text: str) -> Any:
        """A CSV field as the JSON value it stands for (None for empty, `nan` or `null`)."""
        if text == "" or text.lower() in ("nan", "null", "none"):
            return None
        return self.parse_text(text)

    def schema(self, *, nullable: bool) -> dict[str, Any]:
        """The JSON schema of a value, null included when `nullable`."""
        base = dict(self.json_schema)
        return {"anyOf": [base, {"type": "null"}]} if nullable else base

    def arrow(self) -> pa.DataType:
        """The Arrow type of the inference table's column."""
        import pyarrow as pa

        return _ARROW[self.arrow_name or "string"](pa)

    def to_arrow(self, values: list[Any]) -> pa.Array:
        """An Arrow array of canonical values (None for null).

        Raises:
            ValueError: a value that is not canonical for this type (spooled by another
                version, say).
        """
        import pyarrow as pa

        if self.name == "binary":
            values = [None if v is None else _b64(v) for v in values]
        try:
            return pa.array(values, type=self.arrow())
        except (pa.ArrowException, TypeError, OverflowError) as exc:
            raise ValueError(f"not {self.what}: {exc}") from None

    def model_column(self, values: list[Any]) -> Any:
        """Canonical values as the pandas column MLflow's pyfunc expects for this type."""
        import numpy as np
        import pandas as pd

        if self.name == "binary":
            return pd.Series([None if v is None else _b64(v) for v in values], dtype=object)
        if self.name == "timestamp":
            return pd.to_datetime(pd.Series(values, dtype="Int64"), unit="us")
        dtype = _PANDAS.get(self.name)
        if dtype is None or (self.name == "boolean" and None in values):
            return pd.Series(values, dtype=object)
        if dtype.startswith("float"):
            return pd.Series(np.array(values, dtype=np.float64), dtype=dtype)  # None -> NaN
        return pd.Series(values, dtype=dtype)


_ARROW: dict[str, Callable[[Any], Any]] = {
    "bool": lambda pa: pa.bool_(),
    "int32": lambda pa: pa.int32(),
    "int64": lambda pa: pa.int64(),
    "float": lambda pa: pa.float32(),
    "double": lambda pa: pa.float64(),
    "string": lambda pa: pa.string(),
    "binary": lambda pa: pa.binary(),
    "timestamp[us, tz=UTC]": lambda pa: pa.timestamp("us", tz="UTC"),
}
_PANDAS = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
}


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def shown(value: Any, limit: int = 60) -> str:
    """A value for an error message, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(low: int, high: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if not _is_number(value):
            raise ValueError
        # JSON's 3.0 is the integer 3, as JSON Schema (and so the OpenAPI document) reads it;
        # an integer literal too wide for 64 bits is parsed as a float, rounded onto a bound
        if isinstance(value, float) and (
            not value.is_integer() or (abs(value) >= _EXACT and value in (low, high))
        ):
            raise ValueError
        number = int(value)
        if not low <= number <= high:
            raise ValueError
        return number

    return convert


def _real(limit: float) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        if not _is_number(value):
            raise ValueError
        try:
            number = float(value)
        except OverflowError:
            raise ValueError from None
        if not math.isfinite(number) or abs(number) > limit:
            raise ValueError
        return number

    return convert


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    return value


def _binary(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    text = _one_line(value)
    try:
        _b64(text)
    except (binascii.Error, ValueError):
        raise ValueError from None
    return text


def _one_line(text: str) -> str:
    """Text without the one newline a pattern's `$` lets end it (as JSON Schema tools read
    the OpenAPI document's patterns)."""
    return text[:-1] if text.endswith("\n") else text


def _micros(value: Any) -> int:
    """A time as epoch microseconds: ISO 8601 text (naive = UTC) or epoch seconds."""
    if isinstance(value, str):
        if not _ISO.match(value):
            raise ValueError
        moment = datetime.fromisoformat(_one_line(value))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        delta = moment - _EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    elif _is_number(value) and math.isfinite(value) and abs(value) <= _SECONDS:
        micros = value * 1_000_000 if isinstance(value, int) else round(value * 1_000_000)
    else:
        raise ValueError
    if abs(micros) > _SECONDS * 1_000_000:
        raise ValueError
    return int(micros)


def _text_number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _text_bool(text: str) -> Any:
    low = text.lower()
    return True if low == "true" else False if low == "false" else text


def _same(text: str) -> Any:
    return text


def _integer_type(name: str, bits: int) -> ValueType:
    """MLflow's `integer` (32 bits) or `long` (64 bits): a signed integer of `bits` bits."""
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return ValueType(
        name,
        f"an integer from {low} to {high} (MLflow `{name}`, {bits} bits)",
        {"type": "integer", "minimum": low, "maximum": high},
        f"int{bits}",
        _integer(low, high),
        _text_number,
        numeric=True,
        holds_null=False,
    )


BOOLEAN = ValueType("boolean", "true or false", {"type": "boolean"}, "bool", _boolean, _text_bool)
INTEGER = _integer_type("integer", 32)
LONG = _integer_type("long", 64)
FLOAT = ValueType(
    "float",
    f"a finite number within +-{_F32_MAX:.8g} (MLflow `float`, 32 bits)",
    {"type": "number", "minimum": -_F32_MAX, "maximum": _F32_MAX},
    "float",
    _real(_F32_MAX),
    _text_number,
    numeric=True,
)
DOUBLE = ValueType(
    "double", "a finite number", {"type": "number"}, "double", _real(math.inf), _text_number, True
)
STRING = ValueType("string", "a string", {"type": "string"}, "string", _string, _same)
BINARY = ValueType(
    "binary",
    "base64 text (MLflow `binary`)",
    {"type": "string", "contentEncoding": "base64", "pattern": _BASE64_PATTERN},
    "binary",
    _binary,
    _same,
)
TIMESTAMP = ValueType(
    "timestamp",
    "a time from 1678 to 2261: ISO 8601 text such as 2013-07-01T06:00:00 (naive = UTC, or "
    "with Z or an offset such as +02:00 or +0200) or epoch seconds",
    {
        "anyOf": [
            {"type": "string", "pattern": ISO_PATTERN},
            {"type": "number", "minimum": -_SECONDS, "maximum": _SECONDS},
        ]
    },
    "timestamp[us, tz=UTC]",
    _micros,
    lambda text: _text_number(text) if re.fullmatch(r"-?[\d.]+(e-?\d+)?", text) else text,
)
ANY = ValueType("any", "a JSON value", {}, None, lambda value: value, _same)
"""A column MLflow types otherwise (arrays, objects): passed on, logged in `inputs_json`."""

MLFLOW_TYPES: dict[str, ValueType] = {
    "boolean": BOOLEAN,
    "integer": INTEGER,
    "long": LONG,
    "float": FLOAT,
    "double": DOUBLE,
    "string": STRING,
    "binary": BINARY,
    "datetime": TIMESTAMP,
}
"""MLflow `ColSpec` type names -> their value type."""

CONTEXT_TYPES: dict[str, ValueType] = {
    "bool": BOOLEAN,
    "int64": LONG,
    "float64": DOUBLE,
    "string": STRING,
    "timestamp": TIMESTAMP,
}
"""`endpoints.<name>.context_columns` type names -> their value type."""


def mlflow_type(name: str) -> ValueType:
    """The value type of an MLflow column type name (ANY for arrays, objects and maps)."""
    return MLFLOW_TYPES.get(name.lower(), ANY)


# -- the Open Inference Protocol's tensor datatypes --------------------------------------------


@dataclass(frozen=True)
class OipDatatype:
    """A tensor datatype of the Open Inference Protocol.

    Attributes:
        name: `BOOL`, `INT8` ... `UINT64`, `FP16`, `FP32`, `FP64` or `BYTES`.
        kind: `bool`, `int`, `float` or `bytes`: which column types take it (`oip_accepts`).
        numpy: the NumPy dtype of its elements in binary tensor data (`BYTES`: `object`,
            each element a 4-byte little-endian length and its bytes).
        low, high: the range of an element (numbers).
    """

    name: str
    kind: str
    numpy: str
    low: float = -math.inf
    high: float = math.inf

    def holds(self, value: Any) -> bool:
        """Whether a JSON element is of this datatype (an integer within range, ...)."""
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "bytes":
            return isinstance(value, str | bytes)
        if not _is_number(value) or not math.isfinite(value):
            return False
        # JSON's 3.0 is the integer 3 (as JSON Schema reads it); past 2**53 a float may be an
        # integer literal too wide for 64 bits that the parser rounded onto a bound
        if (
            self.kind == "int"
            and isinstance(value, float)
            and (
                not value.is_integer() or (abs(value) >= _EXACT and value in (self.low, self.high))
            )
        ):
            return False
        return bool(self.low <= value <= self.high)


def _oip_int(name: str, bits: int, signed: bool) -> OipDatatype:
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    return OipDatatype(name, "int", f"<{'i' if signed else 'u'}{bits // 8}", low, high)


OIP_DATATYPES: dict[str, OipDatatype] = {
    "BOOL": OipDatatype("BOOL", "bool", "bool"),
    **{f"INT{b}": _oip_int(f"INT{b}", b, True) for b in (8, 16, 32, 64)},
    **{f"UINT{b}": _oip_int(f"UINT{b}", b, False) for b in (8, 16, 32, 64)},
    "FP16": OipDatatype("FP16", "float", "<f2", -65504.0, 65504.0),
    "FP32": OipDatatype("FP32", "float", "<f4", -_F32_MAX, _F32_MAX),
    "FP64": OipDatatype("FP64", "float", "<f8"),
    "BYTES": OipDatatype("BYTES", "bytes", "object"),
}
"""The Open Inference Protocol's tensor datatypes by name."""

# value type -> (the datatype model metadata states, the kinds of tensor it takes)
_OIP_COLUMNS: dict[str, tuple[str, frozenset[str]]] = {
    "boolean": ("BOOL", frozenset({"bool"})),
    "integer": ("INT32", frozenset({"int", "float"})),  # a fraction fails the column's check
    "long": ("INT64", frozenset({"int", "float"})),
    "float": ("FP32", frozenset({"int", "float"})),
    "double": ("FP64", frozenset({"int", "float"})),
    "string": ("BYTES", frozenset({"bytes"})),
    "binary": ("BYTES", frozenset({"bytes"})),
    "timestamp": ("BYTES", frozenset({"bytes", "int", "float"})),  # ISO text or epoch seconds
    "any": ("BYTES", frozenset({"bool", "int", "float", "bytes"})),
}


def oip_datatype(kind: ValueType) -> str:
    """The OIP datatype model metadata states for a column of this value type."""
    return _OIP_COLUMNS[kind.name][0]


def oip_accepts(kind: ValueType, datatype: OipDatatype) -> bool:
    """Whether a tensor of `datatype` may fill a column of this value type."""
    return datatype.kind in _OIP_COLUMNS[kind.name][1]
