"""Importing the registry stays light: MLflow is imported by the functions that use it."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_registry_does_not_import_mlflow() -> None:
    code = (
        "import sys, lakestack.registry, lakestack.cli; "
        "heavy = [m for m in ('mlflow', 'lightgbm', 'sklearn') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
