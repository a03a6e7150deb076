"""Writing run records off the runner's path, on a background thread."""

from __future__ import annotations

import queue
import threading

from lakestack.errors import PipelineError
from lakestack.pipelines._records import Records, RunRecord, TaskRun

__all__ = ["RecordWriter"]


class RecordWriter:
    """Writes records on a background thread, batching rows that arrive together.

    A task's record is written while the next task already runs, so recording costs a run
    almost no time; `close` waits until everything is written.
    """

    def __init__(self, records: Records) -> None:
        self.records = records
        self._queue: queue.Queue[RunRecord | TaskRun | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="lakestack-records", daemon=True)
        self._thread.start()

    def put(self, record: RunRecord | TaskRun) -> None:
        self._queue.put(record)

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            records = [r for r in batch if r is not None]
            try:
                tasks = [r for r in records if isinstance(r, TaskRun)]
                runs = [r for r in records if isinstance(r, RunRecord)]
                if tasks:
                    self.records.add_task_runs(tasks)
                if runs:
                    self.records.add_runs(runs)
            except BaseException as exc:
                self._error = self._error or exc
            finally:
                for _ in batch:
                    self._queue.task_done()
            if None in batch:
                return

    def flush(self) -> None:
        """Wait until every record put so far is written.

        Raises:
            PipelineError: a record could not be written.
        """
        self._queue.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise PipelineError(
                f"the run records could not be written to {self.records.lake.root}: {error}"
            ) from error

    def close(self) -> None:
        """Write what is left and stop the thread."""
        self._queue.put(None)
        self._thread.join()
        self.flush()
