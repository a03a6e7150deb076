"""Fixtures of the deploy tests: one fresh virtual environment with lakestack installed from
this checkout per session, shared by the tests that run generated projects."""

from __future__ import annotations

import pytest
from _venv_kit import FreshVenv, make_fresh_venv


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory, child_bytecode_cache: None) -> FreshVenv:
    """A fresh virtual environment with lakestack installed from the checkout."""
    return make_fresh_venv(tmp_path_factory.mktemp("fresh") / "venv")
