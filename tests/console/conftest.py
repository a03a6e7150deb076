"""The console's tests share one small project, its endpoint and its console (a session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _browser import playwright_running
from _console_kit import ConsoleProject, running_console_project


@pytest.fixture(scope="session")
def console_project(
    tmp_path_factory: pytest.TempPathFactory, mlflow_db: Path, child_bytecode_cache: None
) -> Iterator[ConsoleProject]:
    """Runs, two versions, an endpoint with traffic, a monitor with an alert; served."""
    root = tmp_path_factory.mktemp("console") / "proj"
    with running_console_project(root, mlflow_db) as running:
        yield running


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """Playwright's driver for Debian's Chromium (fails without Chromium under CI)."""
    with playwright_running() as driver:
        yield driver
