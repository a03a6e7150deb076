"""Real MLflow registries on SQLite and on PostgreSQL, tiny data and tiny models.

Creating an MLflow database runs its migrations (seconds), so SQLite tests copy a database
migrated once per session, and PostgreSQL tests share one fresh database per session
(`lakestack_test_<random>`, dropped at the end); each test uses its own model name.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_kit import Kit


@pytest.fixture(scope="session", autouse=True)
def _child_bytecode_cache(child_bytecode_cache: None) -> None:
    """Every test here starts fresh processes; share their bytecode (see tests/conftest.py)."""


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite database with every migration applied."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


def _pg_user() -> str:
    return os.environ.get("LAKESTACK_TEST_PG_USER", "postgres")


@pytest.fixture(scope="session")
def pg_tracking_uri() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    import psycopg

    password = os.environ.get("LAKESTACK_TEST_PG_PASSWORD")
    auth = _pg_user() + (f":{password}" if password else "")
    name = f"lakestack_test_{uuid.uuid4().hex[:10]}"
    admin = f"postgresql://{auth}@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://{auth}@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """The dev environment's tracking URI: SQLite in the project, or PostgreSQL."""
    if request.param == "postgres":
        request.getfixturevalue("postgres")  # skips, or fails under LAKESTACK_REQUIRE_SERVICES
        return str(request.getfixturevalue("pg_tracking_uri"))
    return "sqlite"


@pytest.fixture
def kit(tmp_path: Path, backend: str, mlflow_template: Path) -> Kit:
    """A project whose dev registry is on the backend under test."""
    return Kit(tmp_path / "proj", backend, mlflow_template)


@pytest.fixture
def sqlite_kit(tmp_path: Path, mlflow_template: Path) -> Kit:
    """A project whose registries are on SQLite (for tests the backend does not change)."""
    return Kit(tmp_path / "proj", "sqlite", mlflow_template)
