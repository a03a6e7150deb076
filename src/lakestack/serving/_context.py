"""Context columns: request columns logged with each prediction but not given to the model.

An endpoint's `context_columns` (lakestack.yaml) name them with a type: the ids late labels
join on, the event time a monitor windows on, slice columns. Their values are checked and
converted when the request arrives (a bad value answers 422 naming the column and the row),
then dropped from the rows the model sees unless the model takes them as inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lakestack.serving._payload import Rows
from lakestack.serving._schema import ServingInputError

__all__ = ["ContextColumns"]

_ARROW = {
    "string": "string",
    "int64": "int64",
    "float64": "float64",
    "bool": "bool_",
    "timestamp": "timestamp",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(value: Any) -> int:
    """A timestamp as microseconds since the epoch: ISO 8601 text (naive = UTC) or epoch
    seconds."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("not a finite number of seconds")
        return round(value * 1_000_000)
    if not isinstance(value, str):
        raise ValueError(f"{type(value).__name__} is not a time")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _convert(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "timestamp":
        return _micros(value)
    if kind == "string":
        if isinstance(value, bool | dict | list):
            raise ValueError(f"{type(value).__name__} is not text")
        return str(value)
    if kind == "int64":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"{value!r} is not an integer")
        return int(value)
    if kind == "float64":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{value!r} is not a number")
        return float(value)
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} is not true or false")
    return value


@dataclass(frozen=True)
class ContextColumns:
    """The context columns of an endpoint: name -> type (`string`, `int64`, `float64`,
    `bool`, `timestamp`)."""

    types: Mapping[str, str]

    def arrow_types(self) -> dict[str, str]:
        """The inference table's Arrow type name of each column (see `InferenceLog`)."""
        return {name: _ARROW[kind] for name, kind in self.types.items()}

    def take(self, rows: Rows) -> tuple[list[str], list[list[Any]]] | None:
        """The context columns the request carries and their converted values, row by row
        (timestamps as epoch microseconds); None when it carries none.

        Raises:
            ServingInputError: a value that is not of its column's type (422).
        """
        if rows.columns is None:
            return None
        found = [(i, n) for i, n in enumerate(rows.columns) if n in self.types]
        if not found:
            return None
        values = []
        for r, row in enumerate(rows.rows):
            out = []
            for i, name in found:
                kind = self.types[name]
                try:
                    out.append(_convert(row[i], kind))
                except (ValueError, TypeError, OverflowError) as exc:
                    raise ServingInputError(
                        f"context column {name!r} (row {r}): {row[i]!r} is not a {kind} ({exc})",
                        kind="type",
                    ) from None
            values.append(out)
        return [n for _, n in found], values

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
