"""Fixtures of the pipeline tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _pipelines_kit import MakeProject, write_project

from lakestack.config import Project


@pytest.fixture
def make_project(tmp_path: Path) -> MakeProject:
    """Makes a project in a temporary folder from a `jobs:` mapping."""

    def make(jobs: dict[str, Any], **extra: Any) -> Project:
        return write_project(tmp_path / "proj", jobs, **extra)

    return make
