"""Fixtures of the access tests: a project with principals in every role."""

from __future__ import annotations

from pathlib import Path

import pytest
from access_kit import seed_registries, write_access_project

from lakestack.config import Project


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite database with every migration applied."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(autouse=True)
def _no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test says who acts; nothing leaks in from the shell."""
    for name in ("LAKESTACK_TOKEN", "LAKESTACK_CONTROL_PLANE_FOR", "LAKESTACK_PRINCIPAL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aproject(tmp_path: Path) -> Project:
    """A project with principals (see access_kit.PRINCIPALS) and the embedded environments."""
    return write_access_project(tmp_path / "proj")


@pytest.fixture
def mproject(tmp_path: Path, mlflow_template: Path) -> Project:
    """`aproject` with migrated MLflow registries in dev, staging and prod."""
    seed_registries(tmp_path / "proj", mlflow_template)
    return write_access_project(tmp_path / "proj")
