"""Fixtures of the serving tests (helpers in `_serving_kit.py`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _serving_kit import Served, Server

from lakestack.config import Project


@pytest.fixture(scope="session", autouse=True)
def _child_bytecode_cache(child_bytecode_cache: None) -> None:
    """Every test here starts fresh processes; share their bytecode (see tests/conftest.py)."""


@pytest.fixture(scope="session")
def mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite database with every migration applied (copied per project)."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-serving") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def served(tmp_path: Path, mlflow_db: Path) -> Served:
    """A project whose prod registry the tests log tiny models to."""
    return Served(tmp_path / "proj", mlflow_db)


@pytest.fixture
def served_factory(tmp_path: Path, mlflow_db: Path) -> Callable[[], Served]:
    """Fresh projects, one per call (for property tests: one per generated example)."""
    count = itertools.count()
    return lambda: Served(tmp_path / f"proj{next(count)}", mlflow_db)


@pytest.fixture
def server_factory() -> Iterator[Callable[..., Server]]:
    """Make `lakestack serve` subprocesses; any still running are killed at the end."""
    started: list[Server] = []

    def make(project: Project, **kw: Any) -> Server:
        server = Server(project, **kw)
        started.append(server)
        return server

    yield make
    for server in started:
        if server.proc is not None and server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(10)
