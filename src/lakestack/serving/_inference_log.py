"""The inference table `inference.<endpoint>`: every request and response, nothing lost, and
nothing held back.

- A request's record is written to the local spool (`_spool.py`) before its response is sent.
- A background thread appends batches to Delta, then advances the spool's checkpoint. A
  batch's rows (the spooled JSON parsed, Arrow columns built) are built by a child process
  (`_rows_process.py`), so that this Python work does not hold the GIL the serving event loop
  needs; the thread only sends the lines and receives the table. The child writes nothing and
  holds no lock: a child that dies or hangs is replaced, and that batch's rows are built in
  the thread instead.
- A batch that fails for its data is split until the records at fault are found; each of them
  is tried a few times more, then goes, intact and with the reason, to the dead-letter table
  `inference.<endpoint>_rejected`. The others are appended, in order.
- A storage failure (the lake unreachable, a commit that keeps conflicting) keeps every record
  in the spool and in order; the writer retries with exponential backoff.
- On start, and then at every round of the writer, the spools of dead processes (a worker or a
  Ray Serve replica killed while others serve on) are replayed in the background with a Delta
  merge on `record_id`, so that a batch that reached Delta before its checkpoint moved is not
  written twice. A replay that fails is reported (`error`, the log, the metrics) and retried;
  it never keeps the endpoint from serving.
- Every `optimize_every` appends the table is compacted, so that a busy endpoint does not leave
  thousands of small files.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakestack.errors import SchemaEvolutionError, WriteConflictError
from lakestack.serving._inference_rows import inference_rows, rejected_row, spool_line
from lakestack.serving._rows_process import RowsProcess
from lakestack.serving._spool import Spool, lines_after_checkpoint, orphans
from lakestack.system_tables import INFERENCE, INFERENCE_REJECTED

if TYPE_CHECKING:
    from lakestack.lake import Lake
    from lakestack.serving._schema import InputSchema
    from lakestack.serving._types import ValueType

__all__ = ["InferenceLog", "inference_table", "rejected_table"]

log = logging.getLogger("lakestack.serving")

_Item = tuple[bytes, int, int]  # (spooled line, segment, end offset in the segment)


def inference_table(endpoint: str) -> str:
    """The inference table of an endpoint: `inference.<endpoint>` (lower case, `_` for `-`)."""
    return INFERENCE.table(endpoint=endpoint)


def rejected_table(endpoint: str) -> str:
    """The dead-letter table of an endpoint: `inference.<endpoint>_rejected`."""
    return INFERENCE_REJECTED.table(endpoint=endpoint)


class _Stalled(Exception):
    """Writing stopped at a storage failure; the first `done` items were written."""

    def __init__(self, done: int, cause: Exception) -> None:
        super().__init__(str(cause))
        self.done = done
        self.cause = cause


def _storage_failure(exc: Exception) -> bool:
    """Whether an error is the storage's (retry in order) rather than the data's (set aside)."""
    from deltalake.exceptions import DeltaError, SchemaMismatchError

    if isinstance(exc, SchemaMismatchError | SchemaEvolutionError):
        return False
    return isinstance(exc, OSError | WriteConflictError | DeltaError)


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
        optimize_every: compact the table after this many appends (0: never).

    Attributes:
        error: the last failure to write, while it lasts (None once writing works again).
        failures: failed attempts to append or replay so far.
        rejected: records set aside to `inference.<endpoint>_rejected`.
        replayed: records of dead processes' spools merged into the table.
        written: records appended by this process.
        retry_max_s: the longest wait between two attempts after a storage failure.
        attempts: tries of one record whose data fails before it is set aside.
    """

    def __init__(
        self,
        lake: Lake,
        endpoint: str,
        spool_root: Path,
        *,
        schema: InputSchema | None = None,
        batch_rows: int = 20000,
        interval_s: float = 5.0,
        fsync: bool = False,
        optimize_every: int = 100,
    ) -> None:
        self.lake = lake
        self.endpoint = endpoint
        self.table = inference_table(endpoint)
        self.rejected_table = rejected_table(endpoint)
        self.spool_root = spool_root
        self.batch_rows = batch_rows
        self.interval_s = interval_s
        self.fsync = fsync
        self.optimize_every = optimize_every
        self.retry_max_s = 30.0
        self.attempts = 3
        self.started = threading.Event()
        self.error: str | None = None
        self.failures = 0
        self.rejected = 0
        self.replayed = 0
        self.written = 0
        self._types: dict[str, ValueType] = {}  # replaced, never changed: the writer reads it
        self._conflicts: set[str] = set()
        self._table_types: dict[str, str] = {}
        self.add_schema(schema)
        # bytes, not the record's dicts and lists, so a backlog does not lengthen collections
        self._queue: deque[_Item] = deque()
        self._wake = threading.Condition()
        self._stop = False
        self._spool: Spool | None = None
        self._thread: threading.Thread | None = None
        self._flush_lock = threading.Lock()
        self._replay_pending = True
        self._appends = 0
        self._writing = 0
        self._rows = RowsProcess(endpoint)

    # -- columns ----------------------------------------------------------------------------

    def add_types(self, types: Mapping[str, ValueType]) -> None:
        """Log these columns typed (context columns): name -> value type."""
        for name, kind in types.items():
            self._add_type(name, kind)

    def add_schema(self, schema: InputSchema | None) -> None:
        """Log these input columns typed (a model version's schema)."""
        if schema is not None:
            for column in schema.columns:
                self._add_type(column.name, column.type)

    def _add_type(self, name: str, kind: ValueType) -> None:
        """A column is typed by its first declaration; one that another declaration, or the
        table, gives another type is logged in `inputs_json` instead, so nothing fails."""
        if kind.arrow_name is None or name in self._conflicts:
            return
        current = self._types.get(name)
        if current is None:
            found = self._table_types.get(_column(name))
            if found is None or found == str(kind.arrow()):
                self._types = {**self._types, name: kind}
                return
            self._conflict(name, found, str(kind.arrow()))
        elif current.arrow_name != kind.arrow_name:
            self._conflict(name, str(current.arrow()), str(kind.arrow()))

    def _conflict(self, name: str, one: str, other: str) -> None:
        self._conflicts.add(name)
        self._types = {k: v for k, v in self._types.items() if k != name}
        log.warning(
            "column %r of %s is %s and %s: it is logged in inputs_json",
            name,
            self.table,
            one,
            other,
        )

    def _read_table_types(self) -> None:
        """The column types of the table as it is (a Delta column keeps its type)."""
        try:
            if self.lake.exists(self.table):
                schema = self.lake.schema(self.table)
                self._table_types = {f.name: str(f.type) for f in schema}
        except Exception as exc:  # the writer meets the same problem and reports it
            log.warning("reading the schema of %s failed: %s", self.table, exc)
        for name, kind in list(self._types.items()):
            found = self._table_types.get(_column(name))
            if found is not None and found != str(kind.arrow()):
                self._conflict(name, found, str(kind.arrow()))

    # -- the request path --------------------------------------------------------------------

    @property
    def backlog(self) -> int:
        """Records spooled and not yet in Delta (queued or being written)."""
        return len(self._queue) + self._writing

    @property
    def replay_pending(self) -> bool:
        """Whether dead processes' spools may still wait to be replayed."""
        return self._replay_pending

    def start(self) -> None:
        """Open this process's spool and start the writer, which first replays the spools
        of dead processes; returns at once, whether or not the replay succeeds."""
        # Imported here, before the endpoint is ready: a first import in the writer thread
        # would hold the GIL for a second or two while requests are being answered.
        import deltalake  # noqa: F401
        import pyarrow  # noqa: F401

        self._read_table_types()
        inference_rows([], self.endpoint, self._types)
        self._spool = Spool(self.spool_root, fsync=self.fsync)
        self._rows.start()
        self._thread = threading.Thread(target=self._run, name="inference-log", daemon=True)
        self._thread.start()
        self.started.set()

    def record(self, record: dict[str, Any]) -> None:
        """Make a record durable in the spool and queue it for Delta (call before responding)."""
        if self._spool is None:
            raise RuntimeError("InferenceLog.record before start()")
        line = spool_line(record)
        with self._wake:  # one lock: queue order is spool order, so a checkpoint never skips
            segment, offset = self._spool.write_line(line)
            self._queue.append((line, segment, offset))
            if len(self._queue) >= self.batch_rows:
                self._wake.notify()

    # -- the writer --------------------------------------------------------------------------

    def _run(self) -> None:
        delay = 0.0  # the replay first, at once; appends come every `interval_s`
        backoff = 0.0
        while True:
            with self._wake:
                if not self._stop and delay:
                    self._wake.wait(delay)
                stop = self._stop
            try:
                if self._replay_pending or delay:  # at start, then every round: adopt orphans
                    self.replay_orphans()
                if delay or stop:
                    self.flush()
            except Exception as exc:
                self.failures += 1
                stage = "replaying dead processes' spools" if self._replay_pending else "appending"
                self.error = f"{stage} into {self.table} failed (retrying): {exc}"
                log.warning("%s", self.error)
                backoff = min(self.retry_max_s, max(0.05, backoff * 2))
                delay = backoff
            else:
                self.error = None
                backoff = 0.0
                delay = self.interval_s
            if stop:
                return

    def replay_orphans(self) -> int:
        """Merge the unflushed records of dead processes' spools into Delta; their count.

        Raises:
            Exception: a storage failure; the spools not yet replayed stay for the next try.
        """
        total = 0
        for folder, fd in orphans(self.spool_root):
            try:
                lines = lines_after_checkpoint(folder)
                if lines:
                    try:
                        rejected = self._write([(line, 0, 0) for line in lines], merge=True)
                    except _Stalled as stall:
                        raise stall.cause from None
                    total += len(lines) - rejected
                shutil.rmtree(folder, ignore_errors=True)
            finally:
                os.close(fd)
        self._replay_pending = False
        if total:
            log.info("replayed %d inference records into %s", total, self.table)
        self.replayed += total
        return total

    def flush(self) -> int:
        """Append the records queued when it is called to Delta now (or set them aside); the
        number handled.

        Records that arrive meanwhile wait for the next round: draining until the queue is
        empty kept a busy endpoint's writer appending a few hundred records at a time, back
        to back (230 commits for 62,000 records in 17 s), and every commit costs
        deltalake CPU that grows with the table's files, taken from the requests' cores.

        Raises:
            Exception: a storage failure; the records not yet written stay queued, in order.
        """
        with self._flush_lock:
            count = 0
            with self._wake:
                due = len(self._queue)
            while count < due:
                with self._wake:
                    if not self._queue:
                        return count
                    take = min(len(self._queue), 50000, due - count)
                    batch = [self._queue.popleft() for _ in range(take)]
                    self._writing = len(batch)
                try:
                    self._write(batch, merge=False)
                except _Stalled as stall:
                    with self._wake:  # keep them, in order, for the next attempt
                        self._queue.extendleft(reversed(batch[stall.done :]))
                        self._writing = 0
                    if stall.done:
                        self._checkpoint(batch[stall.done - 1])
                    raise stall.cause from None
                self._checkpoint(batch[-1])
                self._writing = 0
                count += len(batch)
            return count

    def _checkpoint(self, item: _Item) -> None:
        assert self._spool is not None
        self._spool.commit(item[1], item[2])

    def _write(self, items: list[_Item], *, merge: bool) -> int:
        """Write items in order, splitting a batch that fails for its data until the records
        at fault are found and set aside; the number set aside.

        Raises:
            _Stalled: a storage failure, with the number of items written before it.
        """
        pending = deque([(0, len(items))])
        rejected = 0
        while pending:
            low, high = pending.popleft()
            lines = [item[0] for item in items[low:high]]
            try:
                self._append(lines, merge=merge)
                continue
            except Exception as exc:
                if _storage_failure(exc):
                    raise _Stalled(low, exc) from exc
                failure = exc
            if high - low > 1:
                middle = (low + high) // 2
                pending.extendleft([(middle, high), (low, middle)])
                continue
            if not self._retry(lines[0], failure, low, merge=merge):
                rejected += 1
        return rejected

    def _retry(self, line: bytes, failure: Exception, index: int, *, merge: bool) -> bool:
        """Try one record `attempts` times in all, then set it aside; whether it was written."""
        for attempt in range(1, self.attempts):
            time.sleep(min(1.0, 0.05 * 2**attempt))
            try:
                self._append([line], merge=merge)
                return True
            except Exception as exc:
                if _storage_failure(exc):
                    raise _Stalled(index, exc) from exc
                failure = exc
        reason = f"{type(failure).__name__}: {failure}"
        try:
            row = rejected_row(line, self.endpoint, reason, self.attempts)
            self.lake.merge(self.rejected_table, row, keys=["record_id"])
        except Exception as exc:  # not even set aside: keep it
            raise _Stalled(index, exc) from exc
        self.rejected += 1
        log.warning(
            "an inference record could not be appended to %s and is in %s: %s",
            self.table,
            self.rejected_table,
            reason,
        )
        return False

    def _append(self, lines: list[bytes], *, merge: bool) -> None:
        rows = self._rows.rows(lines, self._types)  # in the child: the GIL stays free
        if merge:
            self.lake.merge(self.table, rows, keys=["record_id"])
            return
        self.lake.append(self.table, rows)
        self.written += len(lines)
        self._appends += 1
        if self.optimize_every and self._appends >= self.optimize_every:
            self._appends = 0
            self._optimize()

    def _optimize(self) -> None:
        try:
            result = self.lake.optimize(self.table)
        except Exception as exc:  # compaction is housekeeping: the next one tries again
            log.warning("compacting %s failed: %s", self.table, exc)
            return
        log.info("compacted %s: %s", self.table, result)

    def close(self) -> None:
        """Replay and flush what is left and stop; the spool is removed when all is in Delta."""
        with self._wake:
            self._stop = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()
        try:
            self._close_spool()
        finally:
            self._rows.close()

    def _close_spool(self) -> None:
        if self._spool is None:
            return
        if self._replay_pending:
            try:
                self.replay_orphans()
            except Exception:
                log.exception("replaying into %s failed; replayed on next start", self.table)
        try:
            while self.flush():  # what came in while stopping too
                pass
            done = True
        except Exception:
            log.exception("final append to %s failed; replayed on next start", self.table)
            done = False
        self._spool.close(remove=done)
        self._spool = None


def _column(name: str) -> str:
    """The table column of an input or context column (renamed when it clashes)."""
    return f"input_{name}" if name in INFERENCE.reserved_names else name
