"""Fixtures of the monitoring tests (helpers in `_monitor_kit.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _monitor_kit import MakeProject, write_project

from lakestack.config import Project


@pytest.fixture
def make_project(tmp_path: Path) -> MakeProject:
    """Makes a project with monitors (and jobs) in a temporary folder."""

    def make(
        monitors: dict[str, Any],
        jobs: dict[str, Any] | None = None,
        models: dict[str, Any] | None = None,
    ) -> Project:
        return write_project(tmp_path / "proj", monitors, jobs, models)

    return make
