"""The endpoint's OpenAPI 3.1 document, with the model's input columns when it has a signature."""

from __future__ import annotations

from typing import Any

from lakestack.serving._schema import InputSchema

__all__ = ["openapi_document"]


def openapi_document(endpoint: str, schema: InputSchema | None) -> dict[str, Any]:
    """The OpenAPI document of an endpoint serving a model with this input schema."""
    record: dict[str, Any] = schema.to_json_schema() if schema is not None else {"type": "object"}
    value: dict[str, Any] = {"type": ["number", "integer", "string", "boolean", "null"]}
    request = {
        "oneOf": [
            {
                "type": "object",
                "title": "dataframe_split",
                "properties": {
                    "dataframe_split": {
                        "type": "object",
                        "properties": {
                            "columns": {"type": "array", "items": {"type": "string"}},
                            "data": {"type": "array", "items": {"type": "array", "items": value}},
                        },
                        "required": ["data"],
                    },
                    "params": {"type": "object"},
                },
                "required": ["dataframe_split"],
            },
            {
                "type": "object",
                "title": "dataframe_records",
                "properties": {
                    "dataframe_records": {"type": "array", "items": record},
                    "params": {"type": "object"},
                },
                "required": ["dataframe_records"],
            },
            {
                "type": "object",
                "title": "instances",
                "properties": {"instances": {"type": "array"}, "params": {"type": "object"}},
                "required": ["instances"],
            },
            {
                "type": "object",
                "title": "inputs",
                "properties": {
                    "inputs": {"type": ["array", "object"]},
                    "params": {"type": "object"},
                },
                "required": ["inputs"],
            },
        ]
    }
    error = {
        "type": "object",
        "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
        "required": ["error_code", "message"],
    }
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": f"lakestack endpoint {endpoint}", "version": "1"},
        "paths": {
            "/invocations": {
                "post": {
                    "summary": "Score rows (MLflow scoring payloads).",
                    "operationId": "invocations",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ScoringRequest"}
                            },
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "One prediction per row.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"predictions": {"type": "array"}},
                                        "required": ["predictions"],
                                    }
                                }
                            },
                        },
                        "400": {"description": "Malformed body.", **err},
                        "404": {"description": "An unknown entity key.", **err},
                        "413": {"description": "Too large.", **err},
                        "415": {"description": "Unsupported media type.", **err},
                        "422": {"description": "Does not fit the model's inputs.", **err},
                        "503": {"description": "The model is not loaded yet.", **err},
                    },
                }
            },
            "/health": {
                "get": {"summary": "Liveness.", "responses": {"200": {"description": "ok"}}}
            },
            "/ready": {
                "get": {
                    "summary": "Readiness: the model is loaded.",
                    "responses": {"200": {"description": "ready"}, "503": {"description": "not"}},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics.",
                    "responses": {"200": {"description": "text exposition format"}},
                }
            },
        },
        "components": {
            "schemas": {"ScoringRequest": request, "InputRecord": record, "Error": error}
        },
    }
