"""The Open Inference Protocol's part of the endpoint's OpenAPI document (`_openapi.py`).

An inference request's `inputs` are typed per model: a tensor named as a column takes the
datatypes `_types.oip_accepts` allows for it, each element being both of its datatype and a
value of the column; one matrix (a tensor whose name is no column's) has the shape
`[rows, columns]`. What JSON Schema cannot say: that a shape's product is the number of
elements, that named inputs have as many rows each, and the binary tensor extension (raw bytes
after a JSON header of `Inference-Header-Content-Length` bytes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakestack.serving._types import OIP_DATATYPES, OipDatatype, oip_accepts

if TYPE_CHECKING:
    from lakestack.serving._context import ContextColumns
    from lakestack.serving._schema import Column, InputSchema

__all__ = ["oip_components", "oip_paths"]

_REF = "#/components/schemas/"
_ERROR = {"content": {"application/json": {"schema": {"$ref": _REF + "OipError"}}}}
_PARAMETERS = {"type": "object"}


def _element(datatype: OipDatatype) -> dict[str, Any]:
    """The JSON schema of one element of a tensor of this datatype."""
    if datatype.kind == "bool":
        return {"type": "boolean"}
    if datatype.kind == "bytes":
        return {"type": "string"}
    schema: dict[str, Any] = {"type": "integer" if datatype.kind == "int" else "number"}
    if datatype.low > -float("inf"):
        schema |= {"minimum": datatype.low, "maximum": datatype.high}
    return schema


def _column_tensor(column: Column) -> dict[str, Any]:
    """A tensor named as `column`: its datatypes, shape `[rows]` or `[rows, 1]`, its data."""
    value = dict(column.type.json_schema)
    forms = []
    for name, datatype in OIP_DATATYPES.items():
        if not oip_accepts(column.type, datatype):
            continue
        items = {"allOf": [_element(datatype), value]} if value else _element(datatype)
        forms.append(
            {
                "properties": {
                    "datatype": {"const": name},
                    "data": {"anyOf": [{"type": "array", "items": items}, items]},
                }
            }
        )
    return {
        "type": "object",
        "properties": {
            "name": {"const": column.name},
            "shape": {
                "type": "array",
                "prefixItems": [{"type": "integer", "minimum": 0}, {"const": 1}],
                "items": False,
                "minItems": 1,
            },
            "datatype": {"type": "string"},
            "parameters": _PARAMETERS,
            "data": {},
        },
        "required": ["name", "shape", "datatype", "data"],
        "additionalProperties": False,
        "oneOf": forms,
    }


def _tensor(names: dict[str, Any] | None = None) -> dict[str, Any]:
    """Any tensor (a context column or entity key; an output), optionally named."""
    return {
        "type": "object",
        "properties": {
            "name": names or {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "datatype": {"enum": list(OIP_DATATYPES)},
            "parameters": _PARAMETERS,
            "data": {},
        },
        "required": ["name", "shape", "datatype", "data"],
        "additionalProperties": False,
    }


def _matrix(schema: InputSchema) -> dict[str, Any]:
    """One tensor `[rows, columns]` of every column in signature order."""
    datatypes = [
        name
        for name, datatype in OIP_DATATYPES.items()
        if all(oip_accepts(c.type, datatype) for c in schema.columns)
    ]
    matrix = _tensor({"not": {"enum": schema.names}})
    matrix["properties"] |= {
        "datatype": {"enum": datatypes},
        "shape": {
            "type": "array",
            "prefixItems": [{"type": "integer", "minimum": 0}, {"const": len(schema.columns)}],
            "items": False,
            "minItems": 2,
        },
    }
    return matrix


def _request(schema: InputSchema | None, context: ContextColumns | None) -> dict[str, Any]:
    """An inference request for a model with this input schema."""
    if schema is None:
        inputs: dict[str, Any] = {"type": "array", "items": _tensor(), "minItems": 1}
    else:
        named = [_column_tensor(c) for c in schema.columns]
        extra = sorted(set(context.types) - set(schema.names)) if context is not None else []
        if extra:
            named.append(_tensor({"enum": extra}))
        inputs = {
            "type": "array",
            "minItems": 1,
            "anyOf": [
                {"items": {"anyOf": named}, "allOf": _every_column(schema)},
                {"items": _matrix(schema), "minItems": 1, "maxItems": 1},
            ],
        }
    return {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "parameters": _PARAMETERS,
            "inputs": inputs,
            "outputs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "parameters": _PARAMETERS},
                    "required": ["name"],
                },
            },
        },
        "required": ["inputs"],
        "additionalProperties": False,
    }


def _every_column(schema: InputSchema) -> list[dict[str, Any]]:
    return [
        {"contains": {"type": "object", "properties": {"name": {"const": name}}}}
        for name in schema.names
    ]


def oip_components(
    schema: InputSchema | None, context: ContextColumns | None
) -> dict[str, dict[str, Any]]:
    """The schemas the OIP paths refer to."""
    strings = {"type": "array", "items": {"type": "string"}}
    metadata_tensor = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "datatype": {"enum": list(OIP_DATATYPES)},
            "shape": {"type": "array", "items": {"type": "integer"}},
        },
        "required": ["name", "datatype", "shape"],
    }
    return {
        "OipInferenceRequest": _request(schema, context),
        "OipInferenceResponse": {
            "type": "object",
            "properties": {
                "model_name": {"type": "string"},
                "model_version": {"type": "string"},
                "id": {"type": "string"},
                "parameters": _PARAMETERS,
                "outputs": {"type": "array", "items": _tensor()},
            },
            "required": ["model_name", "outputs"],
        },
        "OipModelMetadata": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "versions": strings,
                "platform": {"type": "string"},
                "inputs": {"type": "array", "items": metadata_tensor},
                "outputs": {"type": "array", "items": metadata_tensor},
            },
            "required": ["name", "platform", "inputs", "outputs"],
        },
        "OipServerMetadata": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "extensions": strings,
            },
            "required": ["name", "version", "extensions"],
        },
        "OipError": {
            "type": "object",
            "properties": {"error": {"type": "string"}},
            "required": ["error"],
        },
    }


def _json(ref: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF + ref}}},
    }


def oip_paths() -> dict[str, Any]:
    """The protocol's routes, unversioned and versioned."""
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    version = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}
    missing = {"description": "No such model or version here.", **_ERROR}
    paths: dict[str, Any] = {
        "/v2": {
            "get": {
                "summary": "OIP server metadata.",
                "responses": {"200": _json("OipServerMetadata", "ok")},
            }
        },
        "/v2/health/live": {
            "get": {"summary": "OIP liveness.", "responses": {"200": {"description": "live"}}}
        },
        "/v2/health/ready": {
            "get": {
                "summary": "OIP readiness: the model is loaded.",
                "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}},
            }
        },
    }
    for base, params in (
        ("/v2/models/{name}", [name]),
        ("/v2/models/{name}/versions/{version}", [name, version]),
    ):
        paths[base] = {
            "get": {
                "summary": "OIP model metadata: inputs and outputs with their datatypes.",
                "parameters": params,
                "responses": {"200": _json("OipModelMetadata", "ok"), "404": missing},
            }
        }
        paths[f"{base}/ready"] = {
            "get": {
                "summary": "OIP model readiness.",
                "parameters": params,
                "responses": {"200": {"description": "ready"}, "404": missing},
            }
        }
        paths[f"{base}/infer"] = {"post": _infer(params, missing)}
    return paths


def _infer(params: list[dict[str, Any]], missing: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": "Score rows (Open Inference Protocol v2): scored, logged and routed as "
        "/invocations.",
        "parameters": params,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": _REF + "OipInferenceRequest"}},
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary"},
                    "description": "Triton's binary tensor extension: a JSON request of "
                    "Inference-Header-Content-Length bytes, then each input's raw data.",
                },
            },
        },
        "responses": {
            "200": _json("OipInferenceResponse", "One output tensor per model output."),
            "400": {"description": "Malformed request.", **_ERROR},
            "404": missing,
            "413": {"description": "Too large.", **_ERROR},
            "422": {"description": "Does not fit the model's inputs.", **_ERROR},
            "503": {"description": "The model is not loaded yet.", **_ERROR},
        },
    }
