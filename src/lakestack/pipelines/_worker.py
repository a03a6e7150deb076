"""What runs inside a worker process: one task attempt, from request to outcome.

Engines ship a `TaskRequest` to a worker (a pre-started local process or a Ray worker), which
calls `execute` and ships the `TaskOutcome` back. Everything here is picklable and imports
only the light parts of lakestack, so that a worker is ready in milliseconds.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import logging
import os
import signal
import socket
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from lakestack.errors import PipelineError
from lakestack.pipelines._context import TableAccess, TaskContext
from lakestack.pipelines._plan import import_task_function

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from lakestack.config import Project

__all__ = ["TaskOutcome", "TaskRequest", "execute", "log_tail", "worker_main"]

_MAX_OUTPUT_BYTES = 1_000_000
_projects: dict[tuple[str, float], Project] = {}


@dataclass(frozen=True)
class TaskRequest:
    """One attempt of one task, as shipped to a worker."""

    project_root: str
    environment: str
    run_id: str
    job: str
    task: str
    run: str
    attempt: int
    params: dict[str, Any]
    upstream: dict[str, Any]
    log_path: str
    sys_path: tuple[str, ...] = ()
    code_commit: str | None = None
    code_dirty: bool = False
    timeout: float | None = None
    principal: str = ""
    environ: dict[str, str] = field(default_factory=dict)


@dataclass
class TaskOutcome:
    """What one attempt did.

    Attributes:
        status: `succeeded` or `failed`.
        output: the task's return value as JSON text (`null` for None), when it succeeded.
        error: one line: the exception, a crash, or a timeout.
        traceback: the formatted traceback, when Python raised.
        accesses: the table versions read and written.
    """

    task: str
    attempt: int
    status: str
    started_at: datetime
    ended_at: datetime
    output: str | None = None
    error: str | None = None
    traceback: str | None = None
    accesses: list[TableAccess] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    mlflow_run_ids: list[str] = field(default_factory=list)
    worker: str = ""

    @classmethod
    def lost(cls, request: TaskRequest, started_at: datetime, error: str) -> TaskOutcome:
        """An attempt whose worker never reported: it crashed, was killed or timed out."""
        return cls(
            task=request.task,
            attempt=request.attempt,
            status="failed",
            started_at=started_at,
            ended_at=datetime.now(UTC),
            error=error,
        )


def _project(root: str) -> Project:
    from lakestack.config import load_project

    file = Path(root) / "lakestack.yaml"
    key = (root, file.stat().st_mtime)
    if key not in _projects:
        _projects.clear()
        _projects[key] = load_project(file)
    return _projects[key]


@contextlib.contextmanager
def _captured(log: IO[str]) -> Iterator[None]:
    """Send fds 1 and 2 (print, C extensions, a crash's traceback) to the task's log."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = [os.dup(1), os.dup(2)]
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    faulthandler.enable(file=log)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        faulthandler.disable()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _logger(request: TaskRequest, log: IO[str]) -> tuple[logging.Logger, logging.Handler]:
    logger = logging.getLogger(f"lakestack.task.{request.job}.{request.task}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    return logger, handler


def _encode(value: Any) -> str:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PipelineError(
            f"the task returned a {type(value).__name__} that is not JSON: {exc}. Return a small "
            "JSON-able value (numbers, strings, lists, dicts) or None; write data to a table"
        ) from None
    if len(text) > _MAX_OUTPUT_BYTES:
        raise PipelineError(
            f"the task returned {len(text):,} bytes of JSON; return at most "
            f"{_MAX_OUTPUT_BYTES:,} (write larger results to a table and return its version)"
        )
    return text


def execute(request: TaskRequest) -> TaskOutcome:
    """Run one task attempt in this process and report what it did; never raises."""
    from lakestack.access import Caller, acting_as
    from lakestack.lake import CodeVersion, Lake, WriteContext

    os.environ.update(request.environ)
    started = datetime.now(UTC)
    outcome = TaskOutcome(request.task, request.attempt, "failed", started, started)
    outcome.worker = f"{socket.gethostname()}:{os.getpid()}"
    Path(request.log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(request.log_path, "a", encoding="utf-8", buffering=1) as log:
        log.write(
            f"--- {request.job}/{request.task} attempt {request.attempt} of run {request.run_id}, "
            f"started {started.isoformat(timespec='milliseconds')} on {outcome.worker}\n"
        )
        logger, handler = _logger(request, log)
        context: TaskContext | None = None
        try:
            with _captured(log):
                for path in reversed(request.sys_path):
                    if path not in sys.path:
                        sys.path.insert(0, path)
                function = import_task_function(request.run)
                project = _project(request.project_root)
                write_context = WriteContext(
                    environment=request.environment,
                    run_id=request.run_id,
                    job=request.job,
                    task=request.task,
                    principal=request.principal,
                    code_version=CodeVersion(request.code_commit, request.code_dirty),
                )
                lake = Lake.for_environment(project, request.environment, context=write_context)
                context = TaskContext(
                    project=project,
                    lake=lake,
                    job=request.job,
                    task=request.task,
                    run_id=request.run_id,
                    params=dict(request.params),
                    upstream=dict(request.upstream),
                    attempt=request.attempt,
                    logger=logger,
                )
                with acting_as(Caller(write_context.principal, f"run {request.run_id}")):
                    outcome.output = _encode(function(context))
                outcome.status = "succeeded"
        except BaseException as exc:  # a task's SystemExit or KeyboardInterrupt fails the task
            outcome.error = f"{type(exc).__name__}: {exc}"
            outcome.traceback = traceback.format_exc()
            log.write(outcome.traceback)
        finally:
            logger.removeHandler(handler)
            outcome.ended_at = datetime.now(UTC)
            if context is not None:
                outcome.accesses = list(context.reads) + list(context.writes)
                outcome.metrics = dict(context.metrics)
                outcome.mlflow_run_ids = list(context.mlflow_run_ids)
            seconds = (outcome.ended_at - started).total_seconds()
            log.write(f"--- attempt {request.attempt} {outcome.status} after {seconds:.3f} s\n")
    return outcome


def _die_with_parent() -> None:
    # Linux only: the kernel kills this worker when the process that forked it exits.
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def worker_main(conn: Connection) -> None:
    """The loop of a local worker process: receive a request, execute it, send the outcome.

    Ctrl-C is ignored here: the runner decides what to cancel and terminates the workers.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        conn.send(execute(request))


def log_tail(path: str | Path, lines: int = 30) -> str:
    """The last `lines` lines of a log file ('' when there is none)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64_000))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
