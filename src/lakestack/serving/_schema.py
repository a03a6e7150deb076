"""The input schema an endpoint checks requests against, read from the model's signature."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Column", "InputSchema", "ServingInputError"]

from lakestack.errors import ServingError

# MLflow's ColSpec type names -> (kind, Arrow type name)
_KINDS = {
    "double": ("float", "float64"),
    "float": ("float", "float32"),
    "long": ("int", "int64"),
    "integer": ("int", "int32"),
    "boolean": ("bool", "bool"),
    "string": ("str", "string"),
    "datetime": ("str", "string"),
}


class ServingInputError(ServingError):
    """A request the endpoint cannot score; `status` is the HTTP status it answers with.

    Attributes:
        status: 400 (malformed), 404 (unknown entity key), 413 (too large), 415 (media type),
            422 (valid JSON that does not fit the model's input schema).
        kind: a short label for metrics (`malformed`, `schema`, `type`, `value`, ...).
    """

    def __init__(self, message: str, *, status: int = 422, kind: str = "schema") -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


@dataclass(frozen=True)
class Column:
    """One input column.

    Attributes:
        name: the column name.
        kind: `float`, `int`, `bool` or `str`.
        arrow: the Arrow type name used for the column in the inference table.
        required: whether null is refused (MLflow's `ColSpec.required`).
    """

    name: str
    kind: str
    arrow: str
    required: bool = True


@dataclass(frozen=True)
class InputSchema:
    """The named input columns of a model, in signature order (None names: no signature)."""

    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def numeric(self) -> bool:
        """Whether every column is a number (the NumPy fast path applies)."""
        return all(c.kind in ("float", "int") for c in self.columns)

    @classmethod
    def from_signature(cls, signature: Any) -> InputSchema | None:
        """The schema of an MLflow signature with named columns, else None."""
        if signature is None or signature.inputs is None:
            return None
        inputs = signature.inputs
        if not inputs.has_input_names() or inputs.is_tensor_spec():
            return None
        columns = []
        for spec in inputs.inputs:
            type_name = getattr(getattr(spec, "type", None), "name", None) or str(spec.type)
            kind, arrow = _KINDS.get(str(type_name).lower(), ("str", "string"))
            columns.append(Column(spec.name, kind, arrow, bool(getattr(spec, "required", True))))
        return cls(tuple(columns))

    def to_json_schema(self) -> dict[str, Any]:
        """A JSON schema of one input record (for the OpenAPI document)."""
        types = {"float": "number", "int": "integer", "bool": "boolean", "str": "string"}
        return {
            "type": "object",
            "properties": {
                c.name: {"type": types[c.kind]} if c.required else {"type": [types[c.kind], "null"]}
                for c in self.columns
            },
            "required": [c.name for c in self.columns],
            "additionalProperties": False,
        }
