"""The inference record of one request and variant: built here, and only here.

A record is what the endpoint spools before it answers (`InferenceLog.record`); the writer
turns it into one row per input row of `inference.<endpoint>` (`_inference_rows.py`):

    {"id": request id, "ts": epoch microseconds, "model": name, "version": number,
     "variant": "production" | "canary" | "shadow", "status": HTTP status,
     "latency_ms": float, "error": message or null,
     "columns": [input and context column names] or null, "rows": [[values]] or null,
     "outputs": [one prediction per row] or null}

The values are the checked ones (`_types.py`), so every field fits its column.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakestack.serving._inference_log import InferenceLog
    from lakestack.serving._model import ServedModel
    from lakestack.serving._payload import Rows

__all__ = ["Context", "InferenceRecords"]

Context = tuple[list[str], list[list[Any]]]
"""Context columns a request carried: their names and checked values, row by row."""


@dataclass(frozen=True)
class InferenceRecords:
    """Builds and spools the records of an endpoint's requests.

    Attributes:
        log: where records go (the endpoint's inference log).
    """

    log: InferenceLog

    def add(
        self,
        request_id: str,
        variant: str,
        served: ServedModel,
        *,
        status: int,
        seconds: float,
        error: str | None = None,
        rows: Rows | None = None,
        context: Context | None = None,
        outputs: list[Any] | None = None,
    ) -> None:
        """Spool the record of a request as answered by one variant.

        Args:
            seconds: the time the variant took to answer.
            error: the message of a refused or failed request (its rows are not logged).
            rows: the checked rows the model scored, in its input order.
            context: the request's context columns, logged after the inputs.
            outputs: the predictions, one per row.
        """
        columns, values = _logged(rows if status == 200 else None, context)
        self.log.record(
            {
                "id": request_id,
                "ts": time.time_ns() // 1000,
                "model": served.name,
                "version": served.version,
                "variant": variant,
                "status": status,
                "latency_ms": seconds * 1000.0,
                "error": error,
                "columns": columns,
                "rows": values,
                "outputs": outputs,
            }
        )


def _logged(rows: Rows | None, context: Context | None) -> tuple[Any, Any]:
    """The record's `columns` and `rows`: the model's inputs, then the context columns."""
    if rows is None:
        return None, None
    if context is None or rows.columns is None:
        return rows.columns, rows.rows
    names, values = context
    extra = [i for i, n in enumerate(names) if n not in rows.columns]
    if not extra:
        return rows.columns, rows.rows
    return (
        rows.columns + [names[i] for i in extra],
        [r + [v[i] for i in extra] for r, v in zip(rows.rows, values, strict=True)],
    )
