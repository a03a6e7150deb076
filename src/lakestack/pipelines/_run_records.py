"""Runs are records: the Delta tables `system.runs` and `system.task_runs` of each environment.

Their columns are declared in `lakestack.system_tables`.

Both tables are append-only, so that runners in several processes never conflict:
`system.runs` gets a row when a run starts and one when it ends (the latest row of a run wins);
`system.task_runs` gets one row per task attempt when it ends, plus one row for each task a
run skipped, cancelled or reused from an earlier run. `RecordWriter` appends them on a
background thread, off the runner's path.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakestack.errors import PipelineError, TableNotFoundError, WriteConflictError
from lakestack.pipelines._context import TableAccess
from lakestack.system_tables import RUNS, TASK_RUNS

if TYPE_CHECKING:
    import pyarrow as pa

    from lakestack.config import Project
    from lakestack.lake import Lake

__all__ = ["RUNS_TABLE", "TASK_RUNS_TABLE", "RecordWriter", "Records", "RunRecord", "TaskRun"]

RUNS_TABLE = RUNS.name
TASK_RUNS_TABLE = TASK_RUNS.name
_COMPACT_EVERY = 100


@dataclass(frozen=True)
class RunRecord:
    """One run of a job.

    Attributes:
        run_id: the run's id (time-sortable).
        job: the job's name.
        environment: the environment it ran in.
        status: `running`, `succeeded`, `failed` or `cancelled`.
        trigger: why it ran (`manual`, `schedule ...`, `table ... updated`, `event ...`).
        params: the parameters given to the run (on top of the file's).
        engine: the engine that ran the tasks.
        code_commit: the git commit of the project, when it is a git work tree.
        code_dirty: whether the work tree had uncommitted changes.
        started_at: when it started (UTC).
        ended_at: when it ended, or None while it runs.
        resumed_from: the run it resumed (`--from`), if any.
        error: for a failed run, the first failing task and its error.
        host: the machine of the runner.
        pid: the process id of the runner.
    """

    run_id: str
    job: str
    environment: str
    status: str
    trigger: str
    params: dict[str, Any]
    engine: str
    code_commit: str | None
    code_dirty: bool
    started_at: datetime
    ended_at: datetime | None = None
    resumed_from: str | None = None
    error: str | None = None
    host: str = ""
    pid: int = 0

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, or None while it runs."""
        return None if self.ended_at is None else (self.ended_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        out["ended_at"] = self.ended_at.isoformat() if self.ended_at else None
        out["duration_s"] = self.duration
        return out


@dataclass(frozen=True)
class TaskRun:
    """One attempt of one task in a run (or a task the run skipped, cancelled or reused).

    Attributes:
        status: `succeeded`, `failed`, `cancelled`, `skipped` (an upstream task failed) or
            `reused` (its output was taken from the run `reused_from`).
        attempt: 1 for the first attempt; 0 for a task that did not run.
        output: the task's return value (decoded JSON), when it succeeded or was reused.
        reads: the table versions it read; writes: the versions it wrote.
    """

    run_id: str
    job: str
    environment: str
    task: str
    attempt: int
    status: str
    started_at: datetime | None = None
    ended_at: datetime | None = None
    params: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    reads: list[TableAccess] = field(default_factory=list)
    writes: list[TableAccess] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    mlflow_run_ids: list[str] = field(default_factory=list)
    output: Any = None
    log_path: str | None = None
    reused_from: str | None = None
    worker: str = ""

    @property
    def duration(self) -> float | None:
        """Seconds the attempt ran, or None when it did not run."""
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat() if self.started_at else None
        out["ended_at"] = self.ended_at.isoformat() if self.ended_at else None
        out["duration_s"] = self.duration
        out["reads"] = [a.to_dict() for a in self.reads]
        out["writes"] = [a.to_dict() for a in self.writes]
        return out


def _run_row(run: RunRecord, now: datetime) -> dict[str, Any]:
    row = asdict(run)
    row["params"] = json.dumps(run.params, default=str)
    row["recorded_at"] = now
    return row


def _task_row(task: TaskRun, now: datetime) -> dict[str, Any]:
    row = asdict(task)
    row.update(
        duration_s=task.duration,
        params=json.dumps(task.params, default=str),
        reads=json.dumps([a.to_dict() for a in task.reads]),
        writes=json.dumps([a.to_dict() for a in task.writes]),
        metrics=json.dumps(task.metrics),
        mlflow_run_ids=json.dumps(task.mlflow_run_ids),
        output=None if task.status not in ("succeeded", "reused") else json.dumps(task.output),
        recorded_at=now,
    )
    return row


def _run_from_row(row: dict[str, Any]) -> RunRecord:
    return RunRecord(
        run_id=row["run_id"],
        job=row["job"],
        environment=row["environment"],
        status=row["status"],
        trigger=row["trigger"] or "",
        params=json.loads(row["params"] or "{}"),
        engine=row["engine"] or "",
        code_commit=row["code_commit"],
        code_dirty=bool(row["code_dirty"]),
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        resumed_from=row["resumed_from"],
        error=row["error"],
        host=row["host"] or "",
        pid=int(row["pid"] or 0),
    )


def _task_from_row(row: dict[str, Any]) -> TaskRun:
    accesses = [TableAccess.from_dict(a) for a in json.loads(row["reads"] or "[]")]
    accesses += [TableAccess.from_dict(a) for a in json.loads(row["writes"] or "[]")]
    return TaskRun(
        run_id=row["run_id"],
        job=row["job"],
        environment=row["environment"],
        task=row["task"],
        attempt=int(row["attempt"]),
        status=row["status"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        params=json.loads(row["params"] or "{}"),
        error=row["error"],
        traceback=row["traceback"],
        reads=[a for a in accesses if a.kind == "read"],
        writes=[a for a in accesses if a.kind == "write"],
        metrics=json.loads(row["metrics"] or "{}"),
        mlflow_run_ids=json.loads(row["mlflow_run_ids"] or "[]"),
        output=None if row["output"] is None else json.loads(row["output"]),
        log_path=row["log_path"],
        reused_from=row["reused_from"],
        worker=row["worker"] or "",
    )


class Records:
    """The run records of one environment.

    Example:
        >>> records = Records.for_environment(load_project("."), "dev")  # doctest: +SKIP
        >>> [run.status for run in records.runs(job="ingest", limit=5)]  # doctest: +SKIP
        ['succeeded', 'failed']
    """

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    @classmethod
    def for_environment(cls, project: Project, environment: str | None = None) -> Records:
        from lakestack.lake import Lake

        return cls(Lake.for_environment(project, environment))

    # -- writes -----------------------------------------------------------------------------

    def _append(self, table: str, schema: pa.Schema, rows: list[dict[str, Any]]) -> None:
        import pyarrow as pa

        data = pa.Table.from_pylist(rows, schema=schema)
        for attempt in range(5):
            try:
                version = self.lake.append(table, data)
                break
            except WriteConflictError:
                if attempt == 4:
                    raise
        if version and version % _COMPACT_EVERY == 0:
            with contextlib.suppress(Exception):  # compaction only keeps reads fast
                self.lake.optimize(table)

    def add_runs(self, runs: list[RunRecord]) -> None:
        """Append run rows (a later row of the same run supersedes an earlier one)."""
        now = datetime.now(UTC)
        self._append(RUNS_TABLE, RUNS.arrow_schema(), [_run_row(r, now) for r in runs])

    def add_task_runs(self, tasks: list[TaskRun]) -> None:
        """Append task attempt rows."""
        now = datetime.now(UTC)
        self._append(TASK_RUNS_TABLE, TASK_RUNS.arrow_schema(), [_task_row(t, now) for t in tasks])

    # -- reads ------------------------------------------------------------------------------

    def _rows(self, table: str, where: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """The table's rows (those whose columns hold the values of `where`), in file order.

        Read whole by Polars (`Lake.read_polars`), then filtered: a records table is small
        but of many files (one per append until a compaction), where Arrow's dataset costs
        ~1 ms a file before reading a row.
        """
        import polars as pl

        try:
            frame = self.lake.read_polars(table)
        except TableNotFoundError:
            return []
        for column, value in (where or {}).items():
            frame = frame.filter(pl.col(column) == value)
        return frame.to_dicts()

    def runs(
        self, *, job: str | None = None, status: str | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        """The runs, newest first, optionally of one job and/or with one status."""
        latest: dict[str, dict[str, Any]] = {}
        for row in self._rows(RUNS_TABLE, {"job": job} if job else None):
            key = (row["recorded_at"], row["status"] != "running")
            seen = latest.get(row["run_id"])
            if seen is None or key >= (seen["recorded_at"], seen["status"] != "running"):
                latest[row["run_id"]] = row
        runs = [_run_from_row(row) for row in latest.values()]
        if status:
            runs = [r for r in runs if r.status == status]
        runs.sort(key=lambda r: (r.started_at, r.run_id), reverse=True)
        return runs[:limit] if limit else runs

    def run(self, run_id: str) -> RunRecord:
        """One run, by its id or an unambiguous prefix of it.

        Raises:
            PipelineError: no run, or several runs, match.
        """
        matches = [r for r in self.runs() if r.run_id.startswith(run_id)]
        exact = [r for r in matches if r.run_id == run_id]
        if exact:
            return exact[0]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise PipelineError(
                f"no run {run_id!r} in the {self.lake.environment!r} environment; "
                "see `lakestack runs list`"
            )
        raise PipelineError(
            f"run id prefix {run_id!r} matches {len(matches)} runs "
            f"({', '.join(r.run_id for r in matches[:5])}); give more of it"
        )

    def task_runs(self, run_id: str | None = None) -> list[TaskRun]:
        """Every task attempt row (of one run, when given), in the order they ended."""
        rows = self._rows(TASK_RUNS_TABLE, {"run_id": run_id} if run_id else None)
        tasks = [_task_from_row(row) for row in rows]
        epoch = datetime.min.replace(tzinfo=UTC)
        tasks.sort(key=lambda t: (t.run_id, t.ended_at or epoch, t.attempt))
        return tasks

    def final_task_runs(self, run_id: str) -> dict[str, TaskRun]:
        """The last attempt of each task of a run, by task name."""
        final: dict[str, TaskRun] = {}
        for task in self.task_runs(run_id):
            if task.task not in final or task.attempt >= final[task.task].attempt:
                final[task.task] = task
        return final


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
