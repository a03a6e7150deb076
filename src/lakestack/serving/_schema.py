"""The input schema an endpoint checks requests against, read from the model's signature."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from lakestack.errors import ServingError
from lakestack.serving._types import ValueType, mlflow_type

__all__ = ["Column", "InputSchema", "ServingInputError"]


class ServingInputError(ServingError):
    """A request the endpoint cannot score; `status` is the HTTP status it answers with.

    Attributes:
        status: 400 (malformed), 404 (unknown entity key), 413 (too large), 415 (media type),
            422 (valid JSON that does not fit the model's input schema), 499 (the client
            went away before sending its whole body).
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
        type: its value type (the check, the JSON schema, the Arrow column).
        required: MLflow's `ColSpec.required`; an optional column may be null when its type
            can carry a null to the model (not MLflow's integers, unless `numpy`).
        numpy: the model gets the column in a NumPy float array (the fast path), where a
            null is NaN whatever the column's type.
    """

    name: str
    type: ValueType
    required: bool = True
    numpy: bool = False

    def nullable(self, allow_missing: bool) -> bool:
        """Whether null is accepted: an optional column, or a float with `allow_missing`."""
        if not self.required and (self.type.holds_null or self.numpy):
            return True
        return allow_missing and self.type.name in ("float", "double")


@dataclass(frozen=True)
class InputSchema:
    """The named input columns of a model, in signature order."""

    columns: tuple[Column, ...]

    @cached_property
    def names(self) -> list[str]:
        """The column names in signature order (one list per schema: do not change it)."""
        return [c.name for c in self.columns]

    @property
    def numeric(self) -> bool:
        """Whether every column is a number (the NumPy fast path applies)."""
        return all(c.type.numeric for c in self.columns)

    def on_numpy(self) -> InputSchema:
        """This schema for a model scored on NumPy arrays (the fast path)."""
        return InputSchema(tuple(replace(c, numpy=True) for c in self.columns))

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
            required = bool(getattr(spec, "required", True))
            columns.append(Column(spec.name, mlflow_type(str(type_name)), required))
        return cls(tuple(columns))
