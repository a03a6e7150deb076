"""Fixtures of the access tests: a project with principals in every role."""

from __future__ import annotations

from pathlib import Path

import pytest
from access_kit import write_access_project

from lakestack.config import Project


@pytest.fixture
def aproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project with principals (see access_kit.PRINCIPALS); no token in the environment."""
    monkeypatch.delenv("LAKESTACK_TOKEN", raising=False)
    monkeypatch.delenv("LAKESTACK_CONTROL_PLANE_FOR", raising=False)
    monkeypatch.delenv("LAKESTACK_PRINCIPAL", raising=False)
    return write_access_project(tmp_path / "proj")
