"""The scheduler: runs jobs on their cron `schedule` (UTC) and their `triggers`.

Each `tick()` looks at every job of the project:

- **schedule**: the due times of its cron expression since the last one it ran for. The first
  tick of a new (or changed) schedule starts counting from that moment. When the scheduler was
  down over several due times, a job with `catchup: true` runs each of them once, in order; by
  default (`catchup: false`) it runs once, for the latest, and the run's trigger says how many
  were skipped.
- **on_table_update**: a table got a Delta version the job has not seen (versions written by the
  job itself do not count, so a job may update the table it watches). The first tick only notes
  the current version.
- **on_event** / `trigger(...)`: triggers queued by any process.

Everything due for a job at one tick becomes one run, whose `trigger` lists the reasons. Runs of
a job do not overlap unless `allow_overlap`: due work waits until the running one ends. A due
time or trigger is marked as taken (with the run's id) before the run starts, atomically, so a
restarted scheduler neither repeats nor loses it; a run whose runner died is then marked failed
and can be resumed with `lakestack run JOB --from TASK`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lakestack.errors import PipelineError, TableNotFoundError
from lakestack.pipelines._locks import JobLock
from lakestack.pipelines._run_records import Records
from lakestack.pipelines._run_result import RunResult, RunUpdate, new_run_id
from lakestack.pipelines._runner import run_job
from lakestack.pipelines._triggers import SchedulerState

if TYPE_CHECKING:
    from lakestack.config import JobConfig, Project
    from lakestack.lake import Lake

__all__ = ["Launch", "Scheduler", "Ticker", "tick_forever"]

log = logging.getLogger("lakestack.scheduler")
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Launch:
    """A run the scheduler started.

    Attributes:
        reason: why (recorded as the run's trigger).
        fire: the schedule's due time it runs for, if any.
    """

    job: str
    run_id: str
    reason: str
    fire: datetime | None = None


@dataclass
class _Due:
    reasons: list[str] = field(default_factory=list)
    fire: datetime | None = None
    versions: dict[str, int] = field(default_factory=dict)
    trigger_ids: list[int] = field(default_factory=list)


class Scheduler:
    """Runs the jobs of one environment on their schedules and triggers.

    Args:
        project: the project.
        env: the environment (default: `LAKESTACK_ENV`, then the file's default).
        clock: returns the current time, timezone-aware (tests pass a fake clock).
        background: start runs in threads and return from `tick` at once; with False, `tick`
            returns when the runs it started have ended.
        engine: the engine for the runs (default: the environment's).
        sys_path: folders added to the workers' `sys.path` after the project folder.
        on_launch: called with each run started.
        on_update: passed to each run (`run_job(on_update=...)`).

    Example:
        >>> scheduler = Scheduler(load_project("."), "prod")  # doctest: +SKIP
        >>> scheduler.run_forever(interval=15)  # doctest: +SKIP
    """

    def __init__(
        self,
        project: Project,
        env: str | None = None,
        *,
        clock: Clock | None = None,
        background: bool = True,
        engine: str | None = None,
        max_workers: int | None = None,
        sys_path: Sequence[str | Path] = (),
        on_launch: Callable[[Launch], None] | None = None,
        on_update: Callable[[RunUpdate], None] | None = None,
    ) -> None:
        self.project = project
        self.environment = project.environment(env).name
        self.clock = clock or _utcnow
        self.background = background
        self.engine = engine
        self.max_workers = max_workers
        self.sys_path = tuple(sys_path)
        self.on_launch = on_launch
        self.on_update = on_update
        self.state = SchedulerState.of(project, self.environment)
        self.results: list[RunResult] = []
        self.errors: list[tuple[Launch, BaseException]] = []
        self._threads: list[tuple[threading.Thread, threading.Event]] = []
        self._lake: Lake | None = None
        self._recovered = False

    @property
    def lake(self) -> Lake:
        if self._lake is None:
            from lakestack.lake import Lake

            self._lake = Lake.for_environment(self.project, self.environment)
        return self._lake

    # -- one tick ---------------------------------------------------------------------------

    def tick(self) -> list[Launch]:
        """Start every run that is due now; returns what it started."""
        if not self._recovered:
            self.recover()
        self._threads = [(t, c) for t, c in self._threads if t.is_alive()]
        launches: list[Launch] = []
        for name, job in self.project.config.jobs.items():
            for _ in range(1000):  # each pass takes some due work, so this ends
                launch = self._launch_due(name, job)
                if launch is None:
                    break
                launches.append(launch)
        return launches

    def _launch_due(self, name: str, job: JobConfig) -> Launch | None:
        due = self._due(name, job)
        if not due.reasons:
            return None
        lock: JobLock | None = None
        if not job.allow_overlap:
            lock = JobLock.of(self.project, self.environment, name)
            if not lock.acquire(f"scheduled run of {name}"):
                log.info("job %s is still running; its due run waits: %s", name, due.reasons)
                return None
        run_id = new_run_id()
        taken = self.state.take(
            name, run_id, fire=due.fire, versions=due.versions, trigger_ids=due.trigger_ids
        )
        if not taken:
            if lock is not None:
                lock.release()
            return None
        launch = Launch(name, run_id, "; ".join(due.reasons), due.fire)
        log.info("starting run %s of %s: %s", run_id, name, launch.reason)
        if self.on_launch is not None:
            self.on_launch(launch)
        self._start(launch, lock)
        return launch

    def _due(self, name: str, job: JobConfig) -> _Due:
        now = self.clock()
        due = _Due()
        if job.schedule:
            self._due_schedule(name, job, now, due)
        for trig in job.triggers:
            if trig.on_table_update:
                self._due_table(name, trig.on_table_update, due)
        for pending in self.state.pending(name):
            due.reasons.append(pending.describe())
            due.trigger_ids.append(pending.id)
        return due

    def _due_schedule(self, name: str, job: JobConfig, now: datetime, due: _Due) -> None:
        from croniter import croniter

        assert job.schedule is not None
        known = self.state.last_fire(name)
        if known is None or known[0] != job.schedule:
            self.state.start_schedule(name, job.schedule, now)
            return
        times = croniter(job.schedule, known[1])
        missed: list[datetime] = []
        upcoming = times.get_next(datetime)
        while upcoming <= now and len(missed) < 10_000:
            missed.append(upcoming)
            upcoming = times.get_next(datetime)
        if not missed:
            return
        due.fire = missed[0] if job.catchup else missed[-1]
        reason = f"schedule '{job.schedule}' at {due.fire:%Y-%m-%d %H:%M} UTC"
        if not job.catchup and len(missed) > 1:
            reason += f" ({len(missed) - 1} earlier missed time(s) skipped: catchup is off)"
        due.reasons.append(reason)

    def _due_table(self, name: str, table: str, due: _Due) -> None:
        try:
            current = self.lake.version(table)
        except TableNotFoundError:
            current = -1
        seen = self.state.seen_version(name, table)
        if seen is None:
            self.state.see_version(name, table, current)
            return
        if current <= seen:
            return
        commits = self.lake.history(table, limit=current - seen) if seen >= 0 else []
        if commits and all(c.metadata.get("job") == name for c in commits if c.version > seen):
            self.state.see_version(name, table, current)  # the job's own writes
            return
        due.versions[table] = current
        due.reasons.append(f"table {table} updated to version {current}")

    def _start(self, launch: Launch, lock: JobLock | None) -> None:
        cancel = threading.Event()

        def target() -> None:
            try:
                result = run_job(
                    self.project,
                    launch.job,
                    env=self.environment,
                    engine=self.engine,
                    max_workers=self.max_workers,
                    trigger=launch.reason,
                    run_id=launch.run_id,
                    sys_path=self.sys_path,
                    on_update=self.on_update,
                    cancel=cancel,
                    lock=lock,
                )
                self.results.append(result)
            except Exception as exc:
                log.error("run %s of %s could not run: %s", launch.run_id, launch.job, exc)
                self.errors.append((launch, exc))

        if not self.background:
            target()
            return
        thread = threading.Thread(target=target, name=f"lakestack-run-{launch.job}", daemon=True)
        self._threads.append((thread, cancel))
        thread.start()

    # -- lifecycle --------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Mark runs of this machine whose runner process died as failed; returns their ids."""
        self._recovered = True
        records = Records(self.lake)
        host, recovered = socket.gethostname(), []
        for run in records.runs(status="running"):
            if run.host != host or run.pid <= 0 or _alive(run.pid):
                continue
            error = (
                f"the runner (pid {run.pid}) exited before the run finished; resume it with "
                f"`lakestack run {run.job} --env {run.environment} --from TASK`"
            )
            records.add_runs([replace(run, status="failed", ended_at=_utcnow(), error=error)])
            recovered.append(run.run_id)
        return recovered

    @property
    def running(self) -> int:
        """How many runs this scheduler started are still running."""
        return sum(1 for thread, _ in self._threads if thread.is_alive())

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the runs this scheduler started to end."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread, _ in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def stop(self, timeout: float = 30.0) -> None:
        """Cancel the runs this scheduler started and wait for them to be recorded."""
        for _, cancel in self._threads:
            cancel.set()
        self.wait(timeout)

    def run_forever(self, interval: float = 15.0, stop: threading.Event | None = None) -> None:
        """Tick every `interval` seconds until `stop` is set (or Ctrl-C); then cancel runs.

        Raises:
            PipelineError: another scheduler of this environment is running.
        """
        tick_forever(self, interval, stop)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
        return handle.read().split()[2] != "Z"  # a zombie has exited
    return True


class Ticker(Protocol):
    """What `tick_forever` drives: a scheduler of one environment of a project."""

    project: Project
    environment: str

    def tick(self) -> list[Launch]: ...  # pragma: no cover

    def stop(self, timeout: float = 30.0) -> None: ...  # pragma: no cover


def tick_forever(
    ticker: Ticker,
    interval: float = 15.0,
    stop: threading.Event | None = None,
    *,
    tolerated: tuple[type[BaseException], ...] = (PipelineError, OSError),
) -> None:
    """The loop `lakestack scheduler` runs: one scheduler per environment (a lock), a tick
    every `interval` seconds until `stop` is set (or Ctrl-C), then its runs cancelled.

    Args:
        ticker: the scheduler (`Scheduler`, or one that wraps it).
        interval: seconds from the start of one tick to the start of the next.
        stop: set it to end the loop.
        tolerated: errors of a tick that are logged and do not end the loop.

    Raises:
        PipelineError: another scheduler of this environment is running.
    """
    environment = ticker.environment
    lock = JobLock(ticker.project.state_dir / environment / "locks" / "_scheduler.lock")
    if not lock.acquire(f"scheduler of {environment}"):
        raise PipelineError(
            f"a scheduler of {environment!r} is already running ({lock.owner()}); "
            "stop it first, or run this one for another environment"
        )
    stop = stop or threading.Event()
    try:
        while not stop.is_set():
            started = time.monotonic()
            try:
                ticker.tick()
            except tolerated as exc:  # keep scheduling; say what went wrong
                log.error("tick failed: %s", exc)
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
    finally:
        ticker.stop()
        lock.release()
