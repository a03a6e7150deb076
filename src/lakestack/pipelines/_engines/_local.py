"""The local engine: a pool of pre-started worker processes, one attempt per process at a time.

Why processes from a forkserver:

- Each attempt runs in a process of its own, so a crash, a segfault, `os._exit` or an OOM kill
  fails that attempt and not the runner; the dead worker is replaced.
- Workers are forked from multiprocessing's forkserver, a clean single-purpose process that
  imported lakestack, pyarrow, deltalake and polars once (`LAKESTACK_WORKER_PRELOAD` changes the
  list). A new worker therefore starts in a few milliseconds instead of the seconds a fresh
  interpreter spends importing them. The forkserver only imports these libraries and never runs
  them, so no Rust or Arrow thread pool is running when it forks (forking the runner itself,
  which has used deltalake, would copy a tokio runtime whose threads are gone).
- Workers live for one run: a new run imports the project's code afresh, so a long-running
  scheduler picks up code changes.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection, wait
from typing import Any

from lakestack.pipelines._worker import TaskOutcome, TaskRequest, worker_main

__all__ = ["LocalEngine"]

# `__main__` first: the forkserver imports the parent's main script once, so that workers do not.
# pandas: deltalake imports it on the first write (3 s here); a missing module is skipped.
_DEFAULT_PRELOAD = (
    "__main__",
    "lakestack.pipelines._worker",
    "lakestack.lake",
    "pyarrow",
    "pyarrow.compute",
    "pyarrow.dataset",
    "pyarrow.parquet",
    "pandas",
    "deltalake",
    "polars",
)


def _context() -> Any:
    from multiprocessing import forkserver

    try:
        context = multiprocessing.get_context("forkserver")
    except ValueError:  # pragma: no cover - Windows has no forkserver; workers import by need
        return multiprocessing.get_context("spawn")
    preload = os.environ.get("LAKESTACK_WORKER_PRELOAD")
    modules = _DEFAULT_PRELOAD if preload is None else tuple(m for m in preload.split(",") if m)
    context.set_forkserver_preload(list(modules))
    # Start it now: it imports the preload while the runner prepares the run.
    forkserver.ensure_running()
    return context


@dataclass
class _Worker:
    process: Any  # multiprocessing.Process of the forkserver context
    conn: Connection
    request: TaskRequest | None = None
    started_at: datetime | None = None
    deadline: float | None = None

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        self.process.join(2.0)
        with contextlib.suppress(Exception):
            self.conn.close()


def _death(exitcode: int | None) -> str:
    if exitcode is None:
        return "its worker process stopped responding"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = {
            "SIGKILL": " (out of memory, or killed from outside)",
            "SIGSEGV": " (a segmentation fault in native code)",
            "SIGABRT": " (aborted by native code)",
        }.get(name, "")
        return f"its worker process was killed by {name}{hint}; see the task's log"
    return f"its worker process exited with code {exitcode} (os._exit or a crash); see its log"


class LocalEngine:
    """Runs attempts in pre-started worker processes on this machine.

    Args:
        max_workers: the most attempts at once (default: the number of CPUs).
    """

    name = "local"

    def __init__(self, max_workers: int | None = None) -> None:
        self._capacity = max(1, max_workers or os.cpu_count() or 2)
        self._mp = _context()
        self._idle: list[_Worker] = []
        self._busy: list[_Worker] = []

    @property
    def capacity(self) -> int:
        return self._capacity

    def _spawn(self) -> _Worker:
        parent, child = self._mp.Pipe(duplex=True)
        process = self._mp.Process(
            target=worker_main, args=(child,), name="lakestack-worker", daemon=True
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def start(self, expected: int) -> None:
        while len(self._idle) + len(self._busy) < min(self._capacity, max(1, expected)):
            self._idle.append(self._spawn())

    def submit(self, request: TaskRequest) -> None:
        worker = None
        while self._idle and worker is None:
            candidate = self._idle.pop()
            if candidate.process.is_alive():
                worker = candidate
            else:
                candidate.kill()
        if worker is None:
            worker = self._spawn()
        worker.request = request
        worker.started_at = datetime.now(UTC)
        worker.deadline = time.monotonic() + request.timeout if request.timeout else None
        # A worker that died between tasks fails the send: the poll reports the lost attempt.
        with contextlib.suppress(OSError, EOFError):
            worker.conn.send(request)
        self._busy.append(worker)

    def poll(self, timeout: float) -> list[TaskOutcome]:
        if not self._busy:
            time.sleep(max(0.0, timeout))
            return []
        deadlines = [w.deadline for w in self._busy if w.deadline is not None]
        if deadlines:
            timeout = max(0.0, min(timeout, min(deadlines) - time.monotonic()))
        handles: list[Any] = [w.conn for w in self._busy] + [w.process.sentinel for w in self._busy]
        ready = set(wait(handles, timeout))
        outcomes: list[TaskOutcome] = []
        for worker in list(self._busy):
            outcome = self._check(worker, ready)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _check(self, worker: _Worker, ready: set[Any]) -> TaskOutcome | None:
        request, started = worker.request, worker.started_at
        assert request is not None and started is not None
        if worker.conn in ready or worker.process.sentinel in ready:
            try:
                if worker.conn.poll():
                    outcome: TaskOutcome = worker.conn.recv()
                    self._release(worker, keep=True)
                    return outcome
            except (EOFError, OSError):
                pass
            worker.process.join(1.0)
            self._release(worker, keep=False)
            return TaskOutcome.lost(request, started, _death(worker.process.exitcode))
        if worker.deadline is not None and time.monotonic() >= worker.deadline:
            self._release(worker, keep=False)
            return TaskOutcome.lost(
                request,
                started,
                f"timed out after {request.timeout:g} s; its process was killed "
                "(raise the task's timeout in lakestack.yaml if it needs longer)",
            )
        return None

    def _release(self, worker: _Worker, *, keep: bool) -> None:
        self._busy.remove(worker)
        worker.request = worker.started_at = worker.deadline = None
        if keep:
            self._idle.append(worker)
        else:
            worker.kill()

    def cancel_all(self) -> list[TaskRequest]:
        cancelled = [w.request for w in self._busy if w.request is not None]
        for worker in list(self._busy):
            with contextlib.suppress(Exception):
                worker.process.terminate()
        for worker in list(self._busy):
            worker.process.join(2.0)
            self._release(worker, keep=False)
        return cancelled

    def close(self) -> None:
        self.cancel_all()
        for worker in self._idle:
            with contextlib.suppress(Exception):
                worker.conn.send(None)
        for worker in self._idle:
            worker.process.join(1.0)
            if worker.process.is_alive():
                worker.kill()
            with contextlib.suppress(Exception):
                worker.conn.close()
        self._idle.clear()
