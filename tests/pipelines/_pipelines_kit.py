"""Helpers of the pipeline tests: test projects with jobs and the task functions next to them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import _kit as kit
from lakestack.config import Project
from lakestack.pipelines import TaskRun

HERE = Path(__file__).parent

MakeProject = Callable[..., Project]


def write_project(folder: Path, jobs: dict[str, Any], **extra: Any) -> Project:
    """A project in `folder` with these jobs and `pipeline_tasks.py` next to its file."""
    return kit.write_project(
        folder, name="pipes", files=[HERE / "pipeline_tasks.py"], jobs=jobs, **extra
    )


def task(name: str, run: str, *deps: str, **options: Any) -> dict[str, Any]:
    """One task entry of a job, as lakestack.yaml spells it (`run` is in pipeline_tasks)."""
    entry: dict[str, Any] = {"name": name, "run": f"pipeline_tasks:{run}"}
    if deps:
        entry["depends_on"] = list(deps)
    entry.update(options)
    return entry


def outcome(t: TaskRun) -> tuple[Any, ...]:
    """What two engines must agree on for a task: status, attempt, output, metrics, runs,
    and the table versions it read and wrote."""
    return (
        t.task,
        t.status,
        t.attempt,
        t.output,
        t.metrics,
        t.mlflow_run_ids,
        [(a.table, a.version, a.operation) for a in t.reads],
        [(a.table, a.version, a.operation) for a in t.writes],
    )
