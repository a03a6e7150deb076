"""Real MLflow registries on SQLite and on PostgreSQL, tiny data and tiny models.

SQLite tests copy the database migrated once per session (`mlflow_db`), and PostgreSQL tests
share one fresh database per session (`pg_tracking_uri`), both fixtures of tests/conftest.py;
each test uses its own model name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _registry_kit import Kit


@pytest.fixture(scope="session", autouse=True)
def _child_bytecode_cache(child_bytecode_cache: None) -> None:
    """Every test here starts fresh processes; share their bytecode (see tests/conftest.py)."""


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """The dev environment's tracking URI: SQLite in the project, or PostgreSQL."""
    if request.param == "postgres":
        request.getfixturevalue("postgres")  # skips, or fails under LAKESTACK_REQUIRE_SERVICES
        return str(request.getfixturevalue("pg_tracking_uri"))
    return "sqlite"


@pytest.fixture
def kit(tmp_path: Path, backend: str, mlflow_db: Path) -> Kit:
    """A project whose dev registry is on the backend under test."""
    return Kit(tmp_path / "proj", backend, mlflow_db)


@pytest.fixture
def sqlite_kit(tmp_path: Path, mlflow_db: Path) -> Kit:
    """A project whose registries are on SQLite (for tests the backend does not change)."""
    return Kit(tmp_path / "proj", "sqlite", mlflow_db)
