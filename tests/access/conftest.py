"""Fixtures of the access tests: a project with principals in every role."""

from __future__ import annotations

from pathlib import Path

import pytest

from _kit.access import write_access_project
from lakestack.config import Project


@pytest.fixture(autouse=True)
def _no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test says who acts; nothing leaks in from the shell."""
    for name in ("LAKESTACK_TOKEN", "LAKESTACK_CONTROL_PLANE_FOR", "LAKESTACK_PRINCIPAL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aproject(tmp_path: Path) -> Project:
    """A project with principals (see _kit.access.PRINCIPALS) and dev, staging and prod."""
    return write_access_project(tmp_path / "aproj")


@pytest.fixture
def mproject(tmp_path: Path, mlflow_db: Path) -> Project:
    """`aproject` with migrated MLflow registries in dev, staging and prod."""
    return write_access_project(tmp_path / "aproj", mlflow_db=mlflow_db)
