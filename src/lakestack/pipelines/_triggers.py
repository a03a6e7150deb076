"""Triggers and the scheduler's memory: a small SQLite file per environment.

`.lakestack/<env>/scheduler.db` holds, per job, the last schedule time it ran for, the table
versions it has seen, and the queue of triggers raised with `trigger(...)` (by a user, a
monitoring alert, another process). SQLite transactions make "mark this due time / these
triggers as taken by run R" atomic, so two processes never take the same one twice.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from lakestack.errors import PipelineError

if TYPE_CHECKING:
    from lakestack.config import Project

__all__ = ["PendingTrigger", "SchedulerState", "trigger"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fires (
    job TEXT PRIMARY KEY, schedule TEXT NOT NULL, last_fire TEXT NOT NULL, run_id TEXT
);
CREATE TABLE IF NOT EXISTS seen_versions (
    job TEXT NOT NULL, tbl TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (job, tbl)
);
CREATE TABLE IF NOT EXISTS triggers (
    id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, event TEXT, reason TEXT NOT NULL,
    created_at TEXT NOT NULL, run_id TEXT, taken_at TEXT
);
CREATE INDEX IF NOT EXISTS triggers_pending ON triggers (job, taken_at);
"""


class _AlreadyTaken(Exception):
    """Another process took this due work first (rolls the transaction back)."""


@dataclass(frozen=True)
class PendingTrigger:
    """A trigger waiting for its job to run.

    Attributes:
        event: the event raised, or None when the job itself was triggered.
    """

    id: int
    job: str
    event: str | None
    reason: str
    created_at: datetime

    def describe(self) -> str:
        what = f"event {self.event}" if self.event else "triggered"
        return f"{what}: {self.reason}" if self.reason else what


class SchedulerState:
    """The scheduler's persisted state of one environment."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @classmethod
    def of(cls, project: Project, environment: str) -> SchedulerState:
        return cls(project.state_dir / environment / "scheduler.db")

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- schedules --------------------------------------------------------------------------

    def last_fire(self, job: str) -> tuple[str, datetime] | None:
        """`(schedule, last due time taken)` of a job, or None before its first tick."""
        with self._connect() as db:
            row = db.execute(
                "SELECT schedule, last_fire FROM fires WHERE job = ?", (job,)
            ).fetchone()
        return None if row is None else (row[0], datetime.fromisoformat(row[1]))

    def start_schedule(self, job: str, schedule: str, now: datetime) -> None:
        """Start counting due times of `schedule` from `now` (a new or changed schedule)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO fires (job, schedule, last_fire) VALUES (?, ?, ?) "
                "ON CONFLICT (job) DO UPDATE SET schedule = excluded.schedule, "
                "last_fire = excluded.last_fire, run_id = NULL",
                (job, schedule, now.isoformat()),
            )

    # -- table versions ---------------------------------------------------------------------

    def seen_version(self, job: str, table: str) -> int | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT version FROM seen_versions WHERE job = ? AND tbl = ?", (job, table)
            ).fetchone()
        return None if row is None else int(row[0])

    def see_version(self, job: str, table: str, version: int) -> None:
        with self._transaction() as db:
            self._see(db, job, table, version)

    @staticmethod
    def _see(db: sqlite3.Connection, job: str, table: str, version: int) -> None:
        db.execute(
            "INSERT INTO seen_versions (job, tbl, version) VALUES (?, ?, ?) "
            "ON CONFLICT (job, tbl) DO UPDATE SET version = excluded.version",
            (job, table, version),
        )

    # -- triggers ---------------------------------------------------------------------------

    def add_triggers(self, jobs: Sequence[str], event: str | None, reason: str) -> list[int]:
        now = datetime.now(UTC).isoformat()
        with self._transaction() as db:
            return [
                int(
                    db.execute(
                        "INSERT INTO triggers (job, event, reason, created_at) VALUES (?, ?, ?, ?)",
                        (job, event, reason, now),
                    ).lastrowid
                    or 0
                )
                for job in jobs
            ]

    def pending(self, job: str | None = None) -> list[PendingTrigger]:
        """The triggers not taken by a run yet, oldest first."""
        query = "SELECT id, job, event, reason, created_at FROM triggers WHERE taken_at IS NULL"
        args: tuple[str, ...] = ()
        if job is not None:
            query, args = query + " AND job = ?", (job,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY id", args).fetchall()
        return [
            PendingTrigger(int(r[0]), r[1], r[2], r[3], datetime.fromisoformat(r[4])) for r in rows
        ]

    # -- taking due work for a run ----------------------------------------------------------

    def take(
        self,
        job: str,
        run_id: str,
        *,
        fire: datetime | None = None,
        versions: dict[str, int] | None = None,
        trigger_ids: Sequence[int] = (),
    ) -> bool:
        """Atomically record that run `run_id` takes a due time, table versions and triggers.

        Returns:
            False (and changes nothing) when another process took any of them first.
        """
        now = datetime.now(UTC).isoformat()
        try:
            with self._transaction() as db:
                if fire is not None:
                    row = db.execute("SELECT last_fire FROM fires WHERE job = ?", (job,)).fetchone()
                    if row is not None and datetime.fromisoformat(row[0]) >= fire:
                        raise _AlreadyTaken
                    db.execute(
                        "UPDATE fires SET last_fire = ?, run_id = ? WHERE job = ?",
                        (fire.isoformat(), run_id, job),
                    )
                for table, version in (versions or {}).items():
                    self._see(db, job, table, version)
                for trigger_id in trigger_ids:
                    taken = db.execute(
                        "UPDATE triggers SET run_id = ?, taken_at = ? "
                        "WHERE id = ? AND taken_at IS NULL",
                        (run_id, now, trigger_id),
                    ).rowcount
                    if taken != 1:
                        raise _AlreadyTaken
        except _AlreadyTaken:
            return False
        return True


def trigger(
    project: Project, job_or_event: str, reason: str = "", *, env: str | None = None
) -> list[str]:
    """Ask the scheduler to run a job, or every job that triggers `on_event` of this name.

    The trigger is queued in `.lakestack/<env>/scheduler.db`; a scheduler of that environment
    (`lakestack scheduler --env <env>`, in any process) runs the jobs at its next tick. Triggers
    that arrive while a job runs are merged into its next run.

    Args:
        project: the project.
        job_or_event: a job's name, or an event named in some job's `triggers: [{on_event: ...}]`.
        reason: why, recorded as the run's trigger (e.g. `drift on inference.flights`).
        env: the environment (default: `LAKESTACK_ENV`, then the file's default).

    Returns:
        The jobs that will run.

    Raises:
        PipelineError: no job and no `on_event` trigger has that name.

    Example:
        >>> trigger(project, "drift_detected", "PSI 0.31 on dep_delay", env="prod")  # doctest: +SKIP
        ['training']
    """
    from lakestack.access import authorize

    environment = project.environment(env).name
    jobs = project.config.jobs
    if job_or_event in jobs:
        targets, event = [job_or_event], None
    else:
        event = job_or_event
        targets = [
            name for name, job in jobs.items() if any(t.on_event == event for t in job.triggers)
        ]
    if not targets:
        events = sorted({t.on_event for job in jobs.values() for t in job.triggers if t.on_event})
        raise PipelineError(
            f"{job_or_event!r} is neither a job nor an event a job triggers on. Jobs: "
            f"{', '.join(sorted(jobs)) or 'none'}; events: {', '.join(events) or 'none'} "
            "(add `triggers: [{on_event: NAME}]` to a job in lakestack.yaml)"
        )
    authorize(project, "job.trigger", environment, obj=f"{job_or_event} -> {', '.join(targets)}")
    SchedulerState.of(project, environment).add_triggers(targets, event, reason)
    return targets
