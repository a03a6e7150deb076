"""Context columns: request columns logged with each prediction but not given to the model.

An endpoint's `context_columns` (lakestack.yaml) name them with a type: the ids late labels
join on, the event time a monitor windows on, slice columns. Their values are checked and
converted when the request arrives, with the value types of `_types.py` (a value that does not
fit its column answers 422 naming the column and the row), then dropped from the rows the
model sees unless the model takes them as inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lakestack.serving._payload import Rows
from lakestack.serving._schema import ServingInputError
from lakestack.serving._types import CONTEXT_TYPES, ValueType, shown

__all__ = ["ContextColumns"]


@dataclass(frozen=True)
class ContextColumns:
    """The context columns of an endpoint: name -> type (`string`, `int64`, `float64`,
    `bool`, `timestamp`)."""

    types: Mapping[str, str]
    value_types: dict[str, ValueType] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "value_types", {name: CONTEXT_TYPES[kind] for name, kind in self.types.items()}
        )

    def take(self, rows: Rows) -> tuple[list[str], list[list[Any]]] | None:
        """The context columns the request carries and their canonical values, row by row
        (timestamps as epoch microseconds); None when it carries none.

        Raises:
            ServingInputError: a value that does not fit its column (422).
        """
        if rows.columns is None:
            return None
        found = [(i, n, self.value_types[n]) for i, n in enumerate(rows.columns) if n in self.types]
        if not found:
            return None
        values = []
        for r, row in enumerate(rows.rows):
            out: list[Any] = []
            for i, name, kind in found:
                value = row[i]
                if value is None:
                    out.append(None)
                    continue
                if rows.extra.get("csv"):
                    value = kind.from_text(value)
                try:
                    out.append(None if value is None else kind.convert(value))
                except ValueError:
                    raise ServingInputError(
                        f"context column {name!r} (row {r}) must be {kind.what}, got "
                        f"{shown(row[i])}",
                        kind="type",
                    ) from None
            values.append(out)
        return [n for _, n, _ in found], values

    def drop(self, rows: Rows, inputs: list[str] | None) -> Rows:
        """`rows` without the context columns the model does not take."""
        if rows.columns is None:
            return rows
        keep = [
            i
            for i, n in enumerate(rows.columns)
            if n not in self.types or (inputs is not None and n in inputs)
        ]
        if len(keep) == len(rows.columns):
            return rows
        return Rows(
            [rows.columns[i] for i in keep],
            [[row[i] for i in keep] for row in rows.rows],
            rows.params,
            rows.format,
            rows.extra,
        )
