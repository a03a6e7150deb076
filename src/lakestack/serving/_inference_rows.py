"""Inference records as the rows of `inference.<endpoint>` and `inference.<endpoint>_rejected`.

A record is what the endpoint spools for one request and variant (`InferenceRecords.build`);
it becomes one row per input row of the request. The input and context columns whose type is
known become typed columns (`_types.py`); the others, and those whose type conflicts with the
table's, go to `inputs_json`.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from lakestack.serving._types import ValueType
from lakestack.system_tables import INFERENCE, INFERENCE_REJECTED

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["inference_rows", "rejected_row", "spool_line"]

_COLUMNS = INFERENCE.column_names
_RESERVED = INFERENCE.reserved_names


def spool_line(record: dict[str, Any]) -> bytes:
    """A record as one JSON line of the spool.

    A model's outputs may hold what JSON cannot (integers past 64 bits, objects): those are
    written as numbers or text, so that the record of an answered request is never lost.
    """
    try:
        return orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"
    except TypeError:
        outputs = _plain(record.get("outputs"))
        return orjson.dumps({**record, "outputs": outputs}, default=str) + b"\n"


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        return float(value)
    return value


def inference_rows(
    records: list[dict[str, Any]], endpoint: str, types: Mapping[str, ValueType]
) -> pa.Table:
    """The inference table's rows of spooled records.

    Args:
        types: the columns logged typed, by name; other columns go to `inputs_json`.

    Raises:
        ValueError: a record whose data does not fit (it names the column), or that lacks
            its id, time or status.
    """
    import pyarrow as pa

    # This runs in the rows process (`_rows_process.py`), and in the writer thread when that
    # process fails, where it holds the GIL the serving loop needs: a record costs one tuple,
    # and columns are built by transposing (zip) and slicing, not by a Python loop over rows
    # and columns.
    meta: list[tuple[Any, ...]] = []  # one per row: the values of INFERENCE's columns
    segments: list[tuple[tuple[str, ...], int, list[Any]]] = []  # (columns, first row, rows)
    inputs_json: list[str | None] = []
    size = 0
    try:
        for rec in records:
            size = _add_record(rec, endpoint, types, meta, segments, inputs_json, size)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"the record is malformed: {type(exc).__name__} {exc}") from None
    columns = list(zip(*meta, strict=True)) if meta else [() for _ in _COLUMNS]
    base = {name: list(v) for name, v in zip(_COLUMNS, columns, strict=True)}
    inputs: dict[str, list[Any]] = {}  # typed input columns, by name
    for names, first, rows in segments:
        for j, name in enumerate(names):
            if name not in types:
                continue
            column = inputs.get(name)
            if column is None:
                column = inputs[name] = [None] * size
            column[first : first + len(rows)] = [
                row[j] if row is not None and j < len(row) else None for row in rows
            ]
    try:
        arrays = {f.name: pa.array(base[f.name], type=f.type) for f in _base_schema()}
    except (pa.ArrowException, TypeError, OverflowError) as exc:
        raise ValueError(f"the record's base columns do not fit: {exc}") from None
    for name, column in inputs.items():
        try:
            typed = types[name].to_arrow(column)
        except ValueError as exc:
            raise ValueError(f"column {name!r}: {exc}") from None
        arrays[f"input_{name}" if name in _RESERVED else name] = typed
    if any(v is not None for v in inputs_json):
        arrays["inputs_json"] = pa.array(inputs_json, type=pa.string())
    return pa.table(arrays)


def _add_record(
    rec: dict[str, Any],
    endpoint: str,
    types: Mapping[str, ValueType],
    meta: list[tuple[Any, ...]],
    segments: list[tuple[tuple[str, ...], int, list[Any]]],
    inputs_json: list[str | None],
    size: int,
) -> int:
    """Add one record's rows to the columns being built; the new row count."""
    rows = rec.get("rows") or [None]
    names = tuple(rec.get("columns") or ())
    outputs = rec.get("outputs") or []
    variant = rec.get("variant") or "production"
    request_id = rec["id"]
    for i in range(len(rows)):
        output = outputs[i] if i < len(outputs) else None
        meta.append(
            (
                f"{request_id}/{variant}/{i}",
                request_id,
                i,
                rec["ts"],
                endpoint,
                rec.get("model"),
                rec.get("version"),
                variant,
                rec["status"],
                rec.get("latency_ms"),
                rec.get("error"),
                _scalar(output),
                None if output is None else orjson.dumps(output).decode(),
            )
        )
    if segments and segments[-1][0] == names:
        segments[-1][2].extend(rows)
    else:
        segments.append((names, size, list(rows)))
    untyped = [n for n in names if n not in types]
    for row in rows:
        if row is not None and (untyped or not names):
            values = dict(zip(names, row, strict=False))
            extra = {k: values[k] for k in untyped} if names else row
            inputs_json.append(orjson.dumps(extra).decode())
        else:
            inputs_json.append(None)
    return size + len(rows)


def rejected_row(line: bytes, endpoint: str, reason: str, attempts: int) -> pa.Table:
    """The `inference.<endpoint>_rejected` row of a spooled record that cannot be appended."""
    import pyarrow as pa

    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        record = {}
    if not isinstance(record, dict):
        record = {}
    request_id = str(record.get("id", ""))
    variant = str(record.get("variant") or "production")
    ts = record.get("ts")
    moment = None
    if isinstance(ts, int) and not isinstance(ts, bool) and abs(ts) < 2**62:
        moment = ts
    text = line.decode("utf-8", errors="replace").rstrip("\n")
    row = {
        "record_id": f"{request_id}/{variant}"
        if request_id
        else "unreadable/" + hashlib.sha1(line).hexdigest(),
        "request_id": request_id,
        "variant": variant,
        "ts": moment,
        "endpoint": endpoint,
        "rejected_at": time.time_ns() // 1000,
        "attempts": attempts,
        "reason": reason,
        "record": text,
    }
    schema = INFERENCE_REJECTED.arrow_schema()
    return pa.table({f.name: pa.array([row[f.name]], type=f.type) for f in schema})


@functools.cache
def _base_schema() -> pa.Schema:
    return INFERENCE.arrow_schema()


def _scalar(output: Any) -> float | None:
    """The number a row's output stands for: itself, or the last (positive) class."""
    if isinstance(output, list) and output:
        output = output[-1]
    if isinstance(output, bool) or not isinstance(output, int | float):
        return None
    value = float(output)
    return value if math.isfinite(value) else None
