"""The endpoint's OpenAPI 3.1 document: the request bodies the server accepts, typed column by
column from the model's signature with the value types of `_types.py` (the Open Inference
Protocol's routes and schemas are `_openapi_oip.py`'s).

A body the document allows is answered 200 (unless the model itself fails), and one it refuses
is answered 4xx. The server accepts a little more than JSON Schema can say: columns in any
order in `dataframe_split` and CSV, several rows per column in the columnar `inputs` form
(lists of equal length), records that leave out a nullable column other records carry, and
entity keys instead of the features a model looks up by key.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from lakestack.serving._openapi_oip import oip_components, oip_paths
from lakestack.serving._types import ISO_PATTERN

if TYPE_CHECKING:
    from lakestack.serving._context import ContextColumns
    from lakestack.serving._schema import Column, InputSchema

__all__ = ["openapi_document"]


def openapi_document(
    endpoint: str,
    schema: InputSchema | None,
    *,
    context: ContextColumns | None = None,
    allow_missing: bool = False,
) -> dict[str, Any]:
    """The OpenAPI document of an endpoint serving a model with this input schema.

    Args:
        context: the endpoint's context columns (optional properties of a record).
        allow_missing: the endpoint's `allow_missing` (null allowed in number columns).
    """
    shapes = _Shapes(schema, context, allow_missing)
    get = {
        "/health": "Liveness.",
        "/ready": "Readiness: the model is loaded (200), or not yet (503).",
        "/metrics": "Prometheus metrics (text exposition format).",
    }
    paths: dict[str, Any] = {"/invocations": {"post": _invocations(shapes)}}
    for path, summary in get.items():
        paths[path] = {"get": {"summary": summary, "responses": {"200": {"description": "ok"}}}}
    paths["/ready"]["get"]["responses"]["503"] = {"description": "not ready"}
    paths |= oip_paths()
    return {
        "openapi": "3.1.0",
        "info": {"title": f"lakestack endpoint {endpoint}", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": {
                "ScoringRequest": shapes.request(),
                "InputRecord": shapes.record(),
                "InputRow": shapes.row(),
                "InputColumns": shapes.columns(),
                "Error": {
                    "type": "object",
                    "properties": {
                        "error_code": {"type": "string"},
                        "message": {"type": "string"},
                    },
                    "required": ["error_code", "message"],
                },
                **oip_components(schema, context),
            }
        },
    }


def _invocations(shapes: _Shapes) -> dict[str, Any]:
    """`POST /invocations`: the request bodies and the answers."""
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    predictions = {
        "type": "object",
        "properties": {"predictions": {"type": "array"}},
        "required": ["predictions"],
    }
    return {
        "summary": "Score rows (MLflow scoring payloads).",
        "operationId": "invocations",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ScoringRequest"}},
                "text/csv": {"schema": shapes.csv()},
            },
        },
        "responses": {
            "200": {
                "description": "One prediction per row.",
                "content": {"application/json": {"schema": predictions}},
            },
            "400": {"description": "Malformed body.", **err},
            "404": {"description": "An unknown entity key.", **err},
            "413": {"description": "Too large.", **err},
            "415": {"description": "Unsupported media type.", **err},
            "422": {"description": "Does not fit the model's inputs.", **err},
            "503": {"description": "The model is not loaded yet.", **err},
        },
    }


_RECORD = {"$ref": "#/components/schemas/InputRecord"}
_ROW = {"$ref": "#/components/schemas/InputRow"}
_COLUMNS = {"$ref": "#/components/schemas/InputColumns"}
_PARAMS = {"type": "object"}


class _Shapes:
    """The JSON schemas of a request's parts for one model and endpoint."""

    def __init__(
        self, schema: InputSchema | None, context: ContextColumns | None, allow_missing: bool
    ) -> None:
        self.schema = schema
        self.context = context
        self.allow_missing = allow_missing

    def _value(self, column: Column) -> dict[str, Any]:
        return column.type.schema(nullable=column.nullable(self.allow_missing))

    def _context(self) -> dict[str, Any]:
        if self.context is None:
            return {}
        inputs = set(self.schema.names) if self.schema is not None else set()
        return {
            name: kind.schema(nullable=True)
            for name, kind in self.context.value_types.items()
            if name not in inputs
        }

    def record(self) -> dict[str, Any]:
        """One row as an object of column values."""
        if self.schema is None:
            return {"type": "object", "minProperties": 1}
        return {
            "type": "object",
            "properties": {c.name: self._value(c) for c in self.schema.columns} | self._context(),
            "required": self.schema.names,
            "additionalProperties": False,
        }

    def row(self) -> dict[str, Any]:
        """One row as a list of values in the signature's column order."""
        if self.schema is None:
            return {"type": "array", "minItems": 1}
        columns = self.schema.columns
        row = {
            "type": "array",
            "prefixItems": [self._value(c) for c in columns],
            "items": False,
            "minItems": len(columns),
        }
        if len(columns) == 1:  # a bare value is a row of one
            return {"anyOf": [row, self._value(columns[0])]}
        return row

    def columns(self) -> dict[str, Any]:
        """The columnar form: one value, or a list of one, per column (lists of equal
        length carry several rows; JSON Schema cannot say they must be equal)."""
        if self.schema is None:
            return {"type": "object", "minProperties": 1}
        properties = {}
        for name, value in [(c.name, self._value(c)) for c in self.schema.columns] + list(
            self._context().items()
        ):
            one = {"type": "array", "items": value, "minItems": 1, "maxItems": 1}
            properties[name] = {"anyOf": [value, one]}
        return {
            "type": "object",
            "properties": properties,
            "required": self.schema.names,
            "additionalProperties": False,
        }

    def request(self) -> dict[str, Any]:
        """A scoring request: exactly one of the four MLflow keys, and optional `params`."""
        split: dict[str, Any] = {
            "type": "object",
            "properties": {
                "data": {"type": "array", "items": _ROW, "minItems": 1},
                "index": {"type": "array"},
            },
            "required": ["data"],
            "additionalProperties": False,
        }
        if self.schema is not None:
            split["properties"]["columns"] = {"const": self.schema.names}
        records = {"type": "array", "items": _RECORD, "minItems": 1}
        rows = {"type": "array", "items": _ROW, "minItems": 1}
        tensors = {"anyOf": [records, rows, _COLUMNS]}
        return {
            "oneOf": [
                _one("dataframe_split", split),
                _one("dataframe_records", records),
                _one("instances", tensors),
                _one("inputs", tensors),
            ]
        }

    def csv(self) -> dict[str, Any]:
        """A CSV body: a header row naming the columns in signature order, then rows."""
        if self.schema is None:
            return {"type": "string", "pattern": r"^[^\r\n]+\r?\n[^\r\n]*\S"}
        names = self.schema.names
        if any(re.search(r'[,"\r\n]|^\s|\s$', n) for n in names):
            return {"type": "string", "minLength": 1}  # a header that needs CSV quoting
        cells = [
            _csv_cell(c, self.allow_missing, alone=len(names) == 1) for c in self.schema.columns
        ]
        line = ",".join(cells)
        header = ",".join(re.escape(n) for n in names)
        return {
            "type": "string",
            "pattern": f"^{header}(?:\\r?\\n{line})+(?:\\r?\\n)?$",
            "description": "A header row with the model's columns (in any order, as the "
            "server accepts them), then one line per row; empty, `nan` or `null` is null.",
        }


def _one(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "title": key,
        "properties": {key: value, "params": _PARAMS},
        "required": [key],
        "additionalProperties": False,
    }


# CSV fields the server reads as a value of each type (a subset: no quoting, no exponent past
# what the type holds); strings and base64 avoid the words read as null (`nan`, `none`, `null`)
_CSV_CELLS = {
    "boolean": "(?:true|false|True|False|TRUE|FALSE)",
    "integer": r"-?\d{1,9}",
    "long": r"-?\d{1,18}",
    "float": r"-?\d{1,30}(?:\.\d{1,10})?",
    "double": r"-?\d{1,30}(?:\.\d{1,10})?(?:[eE][+-]?\d{1,2})?",
    "string": r'[^,"\r\n\x00nN][^,"\r\n\x00]*',
    "binary": r"[A-Za-z0-9+/]{8}(?:[A-Za-z0-9+/]{4})*",
    "timestamp": ISO_PATTERN[1:-1],
    "any": r'[^,"\r\n\x00nN][^,"\r\n\x00]*',
}


def _csv_cell(column: Column, allow_missing: bool, *, alone: bool) -> str:
    cell = _CSV_CELLS[column.type.name]
    # a lone empty field makes a blank line, which CSV readers skip: not a null there
    if column.nullable(allow_missing) and not alone:
        return f"(?:{cell})?"
    return f"(?:{cell})"
