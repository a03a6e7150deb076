"""Fixtures of the serving tests (helpers in `_serving_kit.py`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from _serving_kit import Served


@pytest.fixture(scope="session", autouse=True)
def _child_bytecode_cache(child_bytecode_cache: None) -> None:
    """Every test here starts fresh processes; share their bytecode (see tests/conftest.py)."""


@pytest.fixture
def served(tmp_path: Path, mlflow_db: Path) -> Served:
    """A project whose prod registry the tests log tiny models to."""
    return Served(tmp_path / "proj", mlflow_db)


@pytest.fixture
def served_factory(tmp_path: Path, mlflow_db: Path) -> Callable[[], Served]:
    """Fresh projects, one per call (for property tests: one per generated example)."""
    count = itertools.count()
    return lambda: Served(tmp_path / f"proj{next(count)}", mlflow_db)
