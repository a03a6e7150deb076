"""Helpers of the pipeline tests: test projects with jobs and the task functions next to them."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from lakestack.config import Project, load_project

HERE = Path(__file__).parent

MakeProject = Callable[..., Project]


def write_project(folder: Path, jobs: dict[str, Any], **extra: Any) -> Project:
    """A project in `folder` with these jobs and `tasks_fixture.py` next to its file."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "tasks_fixture.py", folder / "tasks_fixture.py")
    config = {"project": {"name": "pipes"}, "jobs": jobs, **extra}
    (folder / "lakestack.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return load_project(folder)


def task(name: str, run: str, *deps: str, **options: Any) -> dict[str, Any]:
    """One task entry of a job, as lakestack.yaml spells it (`run` is in tasks_fixture)."""
    entry: dict[str, Any] = {"name": name, "run": f"tasks_fixture:{run}"}
    if deps:
        entry["depends_on"] = list(deps)
    entry.update(options)
    return entry
