"""What a run reports: its steps as they happen (`RunUpdate`) and its result (`RunResult`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from lakestack.errors import PipelineError
from lakestack.pipelines._run_records import RunRecord, TaskRun

__all__ = ["RunResult", "RunUpdate", "new_run_id"]


@dataclass(frozen=True)
class RunUpdate:
    """A step of a run, as passed to `run_job(on_update=...)` (progress displays, hooks).

    Attributes:
        kind: `run_started`, `task_started`, `task_retrying`, `task_finished` or `run_finished`.
        status: the task's or run's status, for `task_finished` and `run_finished`.
        total: the number of tasks of the run.
    """

    kind: Literal["run_started", "task_started", "task_retrying", "task_finished", "run_finished"]
    run_id: str
    job: str
    task: str | None = None
    attempt: int = 0
    status: str | None = None
    error: str | None = None
    duration: float | None = None
    total: int = 0


@dataclass(frozen=True)
class RunResult:
    """A finished run: its record and the final record of each task, in dependency order."""

    run: RunRecord
    tasks: list[TaskRun] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def status(self) -> str:
        return self.run.status

    @property
    def ok(self) -> bool:
        return self.run.status == "succeeded"

    @property
    def failed(self) -> list[TaskRun]:
        """The tasks that failed (not those skipped because of them)."""
        return [t for t in self.tasks if t.status == "failed"]

    def task(self, name: str) -> TaskRun:
        """The final record of one task."""
        for task in self.tasks:
            if task.task == name:
                return task
        raise PipelineError(f"run {self.run_id} has no task {name!r}")

    def output(self, name: str) -> Any:
        """The return value of one task."""
        return self.task(name).output

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run.to_dict(), "tasks": [t.to_dict() for t in self.tasks]}


def new_run_id() -> str:
    """A new run id: UTC time (so ids sort by start) and 6 random hex digits."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
