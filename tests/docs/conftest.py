"""Fixtures of the docs tests: the flights example project after some of its jobs."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from lakestack.config import load_project
from lakestack.pipelines import run_job
from lakestack.templates import scaffold

FlightsAfter = Callable[[tuple[str, ...], Path], Path]


@pytest.fixture(scope="session")
def flights_after(tmp_path_factory: pytest.TempPathFactory) -> FlightsAfter:
    """`flights_after(jobs, folder)`: a copy, in `folder`, of the flights project scaffolded
    once per session and run through `jobs` (each run once, in order, on the same copy)."""
    built: dict[tuple[str, ...], Path] = {}

    def build(jobs: tuple[str, ...]) -> Path:
        if jobs in built:
            return built[jobs]
        root = tmp_path_factory.mktemp("flights") / "flights"
        done = max((k for k in built if jobs[: len(k)] == k), key=len, default=())
        if done:
            shutil.copytree(built[done], root)
        else:
            scaffold("flights", root, name="flights")
        project = load_project(root)
        for job in jobs[len(done) :]:
            result = run_job(project, job, env="dev", trigger="docs test")
            assert result.ok, f"the flights project's {job} job failed: {result.run.error}"
        built[jobs] = root
        return root

    def copy(jobs: tuple[str, ...], folder: Path) -> Path:
        shutil.copytree(build(jobs), folder)
        return folder

    return copy
