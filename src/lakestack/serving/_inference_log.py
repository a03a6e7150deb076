"""The inference table `inference.<endpoint>`: every request and response, nothing lost.

A request's record is written to the local spool (`_spool.py`) before its response is sent;
a background thread appends batches to Delta and then advances the spool's checkpoint. On
start, the spools of dead processes are replayed with a Delta merge on `record_id`, so a
batch that reached Delta before its checkpoint moved is not written twice.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import shutil
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from lakestack.serving._spool import Spool, orphans, read_after_checkpoint
from lakestack.system_tables import INFERENCE

if TYPE_CHECKING:
    import pyarrow as pa

    from lakestack.lake import Lake
    from lakestack.serving._schema import InputSchema

__all__ = ["InferenceLog", "inference_table"]

log = logging.getLogger("lakestack.serving")

_COLUMNS = INFERENCE.column_names
_RESERVED = INFERENCE.reserved_names


def inference_table(endpoint: str) -> str:
    """The inference table of an endpoint: `inference.<endpoint>` (lower case, `_` for `-`)."""
    return INFERENCE.table(endpoint=endpoint)


class InferenceLog:
    """Logs inference records to Delta in batches, off the request path.

    Args:
        lake: the environment's lake.
        endpoint: the endpoint's name (the table is `inference.<endpoint>`).
        spool_root: the endpoint's local spool root.
        schema: the model's input columns, logged as typed columns (others: `inputs_json`).
        batch_rows: append when this many records wait.
        interval_s: append at least this often while records wait.
        fsync: fsync every spool record.
    """

    def __init__(
        self,
        lake: Lake,
        endpoint: str,
        spool_root: Path,
        *,
        schema: InputSchema | None = None,
        batch_rows: int = 5000,
        interval_s: float = 5.0,
        fsync: bool = False,
    ) -> None:
        self.lake = lake
        self.endpoint = endpoint
        self.table = inference_table(endpoint)
        self.spool_root = spool_root
        self._types: dict[str, str] = {}
        self.add_schema(schema)
        self.started = threading.Event()
        self.batch_rows = batch_rows
        self.interval_s = interval_s
        self.fsync = fsync
        # (the spooled line, segment, offset): bytes, not the record's dicts and lists, so
        # that a backlog does not make every garbage collection longer
        self._queue: deque[tuple[bytes, int, int]] = deque()
        self._wake = threading.Condition()
        self._stop = False
        self._spool: Spool | None = None
        self._thread: threading.Thread | None = None
        self._flush_lock = threading.Lock()
        self.replayed = 0
        self.written = 0

    def add_types(self, types: dict[str, str]) -> None:
        """Log these columns as typed columns: name -> Arrow type name (`ContextColumns`)."""
        for name, arrow in types.items():
            self._types.setdefault(name, arrow)

    def add_schema(self, schema: InputSchema | None) -> None:
        """Log these input columns as typed columns (a model version's schema)."""
        if schema is not None:
            for column in schema.columns:
                self._types.setdefault(column.name, column.arrow)

    @property
    def backlog(self) -> int:
        """Records spooled and not yet in Delta."""
        return len(self._queue)

    def start(self) -> None:
        """Replay the spools of dead processes, open this process's spool, start the writer."""
        # Imported here, before the endpoint is ready: a first import in the writer thread
        # would hold the GIL for a second or two while requests are being answered.
        import deltalake  # noqa: F401
        import pyarrow  # noqa: F401

        self._to_arrow([])
        self.replayed = self.replay_orphans()
        self._spool = Spool(self.spool_root, fsync=self.fsync)
        self._thread = threading.Thread(target=self._run, name="inference-log", daemon=True)
        self._thread.start()

    def replay_orphans(self) -> int:
        """Merge the unflushed records of dead processes' spools into Delta; their count."""
        total = 0
        for folder, fd in orphans(self.spool_root):
            try:
                records = read_after_checkpoint(folder)
                if records:
                    self.lake.merge(self.table, self._to_arrow(records), keys=["record_id"])
                    total += len(records)
                shutil.rmtree(folder, ignore_errors=True)
            finally:
                os.close(fd)
        if total:
            log.info("replayed %d inference records into %s", total, self.table)
        return total

    def record(self, record: dict[str, Any]) -> None:
        """Make a record durable in the spool and queue it for Delta (call before responding)."""
        if self._spool is None:
            raise RuntimeError("InferenceLog.record before start()")
        line = orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"
        with self._wake:  # one lock: queue order is spool order, so a checkpoint never skips
            segment, offset = self._spool.write_line(line)
            self._queue.append((line, segment, offset))
            if len(self._queue) >= self.batch_rows:
                self._wake.notify()

    def flush(self) -> int:
        """Append every queued record to Delta now; the number appended."""
        with self._flush_lock:
            count = 0
            while True:
                with self._wake:
                    if not self._queue:
                        return count
                    batch = [self._queue.popleft() for _ in range(min(len(self._queue), 50000))]
                try:
                    records = orjson.loads(b"[" + b",".join([r for r, _, _ in batch]) + b"]")
                    self.lake.append(self.table, self._to_arrow(records))
                except Exception:
                    with self._wake:  # keep them, in order, for the next attempt
                        self._queue.extendleft(reversed(batch))
                    raise
                _, segment, offset = batch[-1]
                assert self._spool is not None
                self._spool.commit(segment, offset)
                count += len(batch)
                self.written += len(batch)

    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._stop:
                    self._wake.wait(self.interval_s)
                stop = self._stop
            try:
                self.flush()
            except Exception:
                log.exception("appending to %s failed; the records stay spooled", self.table)
                time.sleep(min(5.0, self.interval_s))
            if stop:
                return

    def close(self) -> None:
        """Flush every record and stop; the spool is removed when all are in Delta."""
        with self._wake:
            self._stop = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()
        if self._spool is not None:
            try:
                self.flush()
                done = True
            except Exception:
                log.exception("final append to %s failed; replayed on next start", self.table)
                done = False
            self._spool.close(remove=done)
            self._spool = None

    # -- rows -------------------------------------------------------------------------------

    def _to_arrow(self, records: list[dict[str, Any]]) -> pa.Table:
        import pyarrow as pa

        # This runs in the writer thread and holds the GIL the serving loop needs: a record
        # costs one tuple, and columns are built by transposing (zip) and slicing, not by a
        # Python loop over rows and columns.
        meta: list[tuple[Any, ...]] = []  # one per row: the values of INFERENCE's columns
        segments: list[tuple[tuple[str, ...], int, list[Any]]] = []  # (columns, first row, rows)
        inputs_json: list[str | None] = []
        size = 0
        for rec in records:
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
                        self.endpoint,
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
            untyped = [n for n in names if n not in self._types]
            for row in rows:
                if row is not None and (untyped or not names):
                    values = dict(zip(names, row, strict=False))
                    extra = {k: values[k] for k in untyped} if names else row
                    inputs_json.append(orjson.dumps(extra).decode())
                else:
                    inputs_json.append(None)
            size += len(rows)
        columns = list(zip(*meta, strict=True)) if meta else [() for _ in _COLUMNS]
        base = {name: list(v) for name, v in zip(_COLUMNS, columns, strict=True)}
        inputs: dict[str, list[Any]] = {}  # typed input columns, by name
        for names, first, rows in segments:
            for j, name in enumerate(names):
                if name not in self._types:
                    continue
                column = inputs.get(name)
                if column is None:
                    column = inputs[name] = [None] * size
                column[first : first + len(rows)] = [
                    row[j] if row is not None and j < len(row) else None for row in rows
                ]
        arrays = {f.name: pa.array(base[f.name], type=f.type) for f in _base_schema()}
        reserved = _RESERVED
        for name, column in inputs.items():
            arrays[f"input_{name}" if name in reserved else name] = _typed(
                column, self._types[name]
            )
        if any(v is not None for v in inputs_json):
            arrays["inputs_json"] = pa.array(inputs_json, type=pa.string())
        return pa.table(arrays)


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


def _typed(values: list[Any], arrow: str) -> pa.Array:
    import pyarrow as pa

    if arrow == "timestamp":  # context columns: epoch microseconds
        return pa.array(values, type=pa.timestamp("us", tz="UTC"))
    kind = getattr(pa, arrow)() if arrow != "string" else pa.string()
    if arrow.startswith("int"):
        values = [None if v is None else int(v) for v in values]
    elif arrow.startswith("float"):
        values = [None if v is None else float(v) for v in values]
    return pa.array(values, type=kind)
