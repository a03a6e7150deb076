"""MLflow scoring payloads in, rows in the model's column order out, every value checked.

The formats are those of `mlflow models serve`: JSON with one of `dataframe_split`,
`dataframe_records`, `instances` or `inputs` (and optional `params`), or `text/csv` with a
header row. A payload that does not fit raises `ServingInputError` naming the field.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from math import isfinite
from typing import TYPE_CHECKING, Any

import orjson

from lakestack.serving._http import error_response, json_response
from lakestack.serving._schema import Column, InputSchema, ServingInputError
from lakestack.serving._types import shown

if TYPE_CHECKING:
    from starlette.responses import Response

    from lakestack.serving._model import ServedModel
    from lakestack.serving._state import ModelSlots

__all__ = [
    "FORMATS",
    "MLFLOW_DOOR",
    "MlflowDoor",
    "Rows",
    "conform",
    "missing_columns",
    "parse_body",
]

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


@dataclass
class Rows:
    """A parsed request: column names (None: positional, in signature order) and rows."""

    columns: list[str] | None
    rows: list[list[Any]]
    params: dict[str, Any] | None = None
    format: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class MlflowDoor:
    """`POST /invocations`: MLflow scoring payloads in, `{"predictions": [...]}` out, errors
    as MLflow's scoring server writes them (`error_code`, `message`). Stateless: one serves
    every request (`MLFLOW_DOOR`)."""

    def route(self, slots: ModelSlots, picked: tuple[str, ServedModel]) -> tuple[str, ServedModel]:
        return picked

    def parse(self, body: bytes, headers: Mapping[str, str], served: ServedModel) -> Rows:
        return parse_body(body, headers.get("content-type", "application/json"))

    def answer(self, predictions: list[Any], served: ServedModel, request_id: str) -> Response:
        return json_response({"predictions": predictions}, headers={"X-Request-ID": request_id})

    def error(self, status: int, message: str, request_id: str) -> Response:
        return error_response(status, message, request_id)


MLFLOW_DOOR = MlflowDoor()


def _bad(message: str, kind: str = "malformed") -> ServingInputError:
    return ServingInputError(message, status=400, kind=kind)


def parse_body(body: bytes, content_type: str) -> Rows:
    """Parse a request body by its content type (`application/json` or `text/csv`).

    Raises:
        ServingInputError: malformed JSON or CSV, an unknown format, or ragged rows.
    """
    media = (
        content_type
        if content_type == "application/json"
        else content_type.split(";", 1)[0].strip().lower()
    )
    if media in ("text/csv", "application/csv"):
        return _parse_csv(body)
    if media not in ("application/json", "", "application/*+json") and not media.endswith("+json"):
        raise ServingInputError(
            f"unsupported Content-Type {media!r}: send application/json (dataframe_split, "
            "dataframe_records, instances or inputs) or text/csv",
            status=415,
            kind="media_type",
        )
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _bad(f"the body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise _bad(f"the body must be a JSON object with one of the keys {', '.join(FORMATS)}")
    if len(doc) == 1 and (key := next(iter(doc))) in FORMATS:  # the usual body: no params
        params = None
    else:
        key, params = _format_and_params(doc)
    value = doc[key]
    if key == "dataframe_split":
        rows = _split(value)
    elif key == "dataframe_records":
        rows = _records(value, key)
    else:
        rows = _tensorish(value, key)
    rows.params = params
    rows.format = key
    return rows


def _format_and_params(doc: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """The payload format key of a body with other keys too, and its `params`."""
    keys = [k for k in FORMATS if k in doc]
    unknown = [k for k in doc if k not in FORMATS and k != "params"]
    if len(keys) != 1 or unknown:
        what = f"unknown key(s) {', '.join(map(repr, unknown))}; " if unknown else ""
        raise _bad(
            f"{what}the body must have exactly one of the keys {', '.join(FORMATS)} "
            f"(it has {', '.join(map(repr, doc)) or 'none'})"
        )
    params = doc.get("params")
    if params is not None and not isinstance(params, dict):
        raise _bad("'params' must be a JSON object")
    return keys[0], params


_TEXT = {str}  # the one type of column names parsed from JSON


def _split(value: Any) -> Rows:
    if not isinstance(value, dict):
        raise _bad("'dataframe_split' must be an object with 'columns' and 'data'")
    unknown = [k for k in value if k not in ("columns", "data", "index")]
    if unknown:
        raise _bad(f"'dataframe_split' has unknown key(s) {', '.join(map(repr, unknown))}")
    data = value.get("data")
    columns = value.get("columns")
    if not isinstance(value.get("index", []), list):
        raise _bad("'dataframe_split.index' must be a list")
    if not isinstance(data, list):
        raise _bad("'dataframe_split.data' must be a list of rows")
    if columns is not None and (
        not isinstance(columns, list) or not set(map(type, columns)) <= _TEXT
    ):
        raise _bad("'dataframe_split.columns' must be a list of column names")
    rows: list[list[Any]] = []
    width = len(columns) if columns is not None else None
    for i, row in enumerate(data):
        if not isinstance(row, list):
            row = [row]
        if width is None:
            width = len(row)
        if len(row) != width:
            raise _bad(f"'dataframe_split.data[{i}]' has {len(row)} values, expected {width}")
        rows.append(row)
    return Rows(columns, rows)


def _records(value: Any, key: str) -> Rows:
    """Records as rows; a column a record lacks is null in it (other records may have it)."""
    if not isinstance(value, list):
        raise _bad(f"'{key}' must be a list of records (objects)")
    columns: dict[str, None] = {}
    for i, record in enumerate(value):
        if not isinstance(record, dict):
            raise _bad(f"'{key}[{i}]' must be an object mapping column names to values")
        for name in record:
            columns.setdefault(name, None)
    names = list(columns)
    return Rows(names, [[record.get(name) for name in names] for record in value])


def _tensorish(value: Any, key: str) -> Rows:
    if isinstance(value, dict):  # columnar: {"col": [values]} (or one value per column)
        names = list(value)
        columns = [v if isinstance(v, list) else [v] for v in value.values()]
        lengths = {len(c) for c in columns}
        if len(lengths) > 1:
            sizes = ", ".join(f"{n}: {len(c)}" for n, c in zip(names, columns, strict=True))
            raise _bad(f"the columns of '{key}' have different lengths ({sizes})")
        return Rows(names, [list(r) for r in zip(*columns, strict=True)])
    if not isinstance(value, list):
        raise _bad(f"'{key}' must be a list of records, a list of rows, or an object of columns")
    if value and all(isinstance(v, dict) for v in value):
        return _records(value, key)
    rows = []
    width: int | None = None
    for i, row in enumerate(value):
        if isinstance(row, dict):
            raise _bad(f"'{key}' mixes records and rows (item {i} is an object)")
        row = row if isinstance(row, list) else [row]
        width = len(row) if width is None else width
        if len(row) != width:
            raise _bad(f"'{key}[{i}]' has {len(row)} values, expected {width}")
        rows.append(row)
    return Rows(None, rows)


def _parse_csv(body: bytes) -> Rows:
    import csv
    import io

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("the CSV body is not UTF-8") from None
    reader = csv.reader(io.StringIO(text))
    try:
        lines = [line for line in reader if line]
    except csv.Error as exc:
        raise _bad(f"the CSV body is malformed: {exc}") from None
    if not lines:
        raise _bad("the CSV body is empty: send a header row and data rows")
    header, data = lines[0], lines[1:]
    for i, row in enumerate(data):
        if len(row) != len(header):
            raise _bad(f"CSV row {i + 1} has {len(row)} fields, the header has {len(header)}")
    return Rows(header, [list(r) for r in data], format="csv", extra={"csv": True})


_F64_MAX = sys.float_info.max
_F32_MAX = 3.4028234663852886e38
# Values a column takes as they are: the exact Python type JSON gives, within these bounds
# (comparisons with NaN are false, so a NaN or an infinity falls to the column's check).
_AS_IS: dict[str, tuple[type, Any, Any]] = {
    "double": (float, -_F64_MAX, _F64_MAX),
    "float": (float, -_F32_MAX, _F32_MAX),
    "long": (int, -(2**63), 2**63 - 1),
    "integer": (int, -(2**31), 2**31 - 1),
    "string": (str, None, None),
    "boolean": (bool, None, None),
}


class _Plan:
    """A schema's column plan, made once: its names and what each column takes as it is."""

    def __init__(self, schema: InputSchema) -> None:
        self.schema = schema
        self.names = schema.names
        self.checks = tuple(_AS_IS.get(c.type.name) for c in schema.columns)
        # every column a double: a row of floats whose sum is finite holds no NaN, no
        # infinity and nothing past the bounds (a sum that overflows takes the long way)
        self.floats = [float] * len(self.checks) if _all_doubles(schema) else None

    def as_is(self, row: list[Any]) -> bool:
        """Whether every value of a row (in schema order) is already canonical."""
        if len(row) != len(self.checks):
            return False
        if self.floats is not None:
            return list(map(type, row)) == self.floats and isfinite(sum(row))
        for value, check in zip(row, self.checks, strict=True):
            if check is None or type(value) is not check[0]:
                return False
            low = check[1]
            if low is not None and not low <= value <= check[2]:
                return False
        return True


def _all_doubles(schema: InputSchema) -> bool:
    return bool(schema.columns) and all(c.type.name == "double" for c in schema.columns)


_plans: dict[int, _Plan] = {}


def _plan(schema: InputSchema) -> _Plan:
    plan = _plans.get(id(schema))
    if plan is None or plan.schema is not schema:
        if len(_plans) > 64:  # schemas of models swapped out long ago
            _plans.clear()
        plan = _plans[id(schema)] = _Plan(schema)
    return plan


def conform(rows: Rows, schema: InputSchema | None, *, allow_missing: bool = False) -> Rows:
    """Check and reorder rows into the schema's column order, converting CSV text.

    Rows whose values are all canonical already (a JSON request in the model's column order,
    say) pass as they are; the others are checked and converted value by value.

    Args:
        allow_missing: accept null (and CSV's empty or `nan`) in number columns, as NaN.

    Raises:
        ServingInputError: missing or extra columns, a value of the wrong type, a non-finite
            number, or null where the column is required.
    """
    if schema is None:
        return rows
    plan = _plan(schema)
    names = plan.names
    if rows.columns is None:
        if rows.rows and len(rows.rows[0]) != len(names):
            raise ServingInputError(
                f"rows without column names must have {len(names)} values in the order "
                f"{', '.join(names)}; got {len(rows.rows[0])}",
                kind="missing_column",
            )
        ordered = rows.rows
    elif rows.columns == names:
        ordered = rows.rows
    else:
        ordered = _reordered(rows.columns, rows.rows, names)
    csv_text = bool(rows.extra.get("csv"))
    if not csv_text and all(map(plan.as_is, ordered)):
        return Rows(list(names), ordered, rows.params, rows.format)
    ordered = [list(row) for row in ordered]  # converted in place below
    for j, column in enumerate(schema.columns):
        kind = column.type
        convert = kind.convert
        nullable = column.nullable(allow_missing)
        for i, row in enumerate(ordered):
            value = row[j]
            if csv_text and isinstance(value, str):  # looked-up features are values already
                value = kind.from_text(value)
            if value is None:
                if not nullable:
                    raise ServingInputError(_null_message(column, i, allow_missing), kind="null")
                row[j] = None
                continue
            try:
                row[j] = convert(value)
            except ValueError:
                raise ServingInputError(
                    f"column {column.name!r} (row {i}) must be {kind.what}, got {shown(value)}",
                    kind="type",
                ) from None
    return Rows(list(names), ordered, rows.params, rows.format)


def missing_columns(missing: list[str], names: list[str]) -> ServingInputError:
    """The error of a request without the input columns `missing` of the model's `names`."""
    return ServingInputError(
        f"missing input column(s) {', '.join(map(repr, missing))}; the model takes "
        f"{', '.join(names)}",
        kind="missing_column",
    )


def _reordered(given: list[str], rows: list[list[Any]], names: list[str]) -> list[list[Any]]:
    """Rows of the columns `given` in the order of `names`, or the error naming the problem."""
    missing = [n for n in names if n not in given]
    extra = [n for n in given if n not in names]
    if missing:
        raise missing_columns(missing, names)
    if extra:
        raise ServingInputError(
            f"unknown input column(s) {', '.join(map(repr, extra))}; the model takes "
            f"{', '.join(names)}",
            kind="extra_column",
        )
    if len(set(given)) != len(given):
        raise _bad("a column name is repeated", kind="malformed")
    index = [given.index(n) for n in names]
    return [[row[i] for i in index] for row in rows]


def _null_message(column: Column, row: int, allow_missing: bool) -> str:
    where = f"column {column.name!r} (row {row}) is null or missing"
    if not (column.type.holds_null or column.numpy):
        return (
            f"{where}: MLflow passes no missing values in {column.type.name} columns; "
            "send a value, or log the column as double to allow missing values"
        )
    if column.type.numeric and not allow_missing:
        return f"{where}; the model requires a value (the endpoint's allow_missing is off)"
    return f"{where}; the model requires a value"
