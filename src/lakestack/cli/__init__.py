"""The `lakestack` command line: typer parses, plain functions work, rich renders.

Heavy libraries (deltalake, polars, MLflow) are imported inside the commands that use them, so
`lakestack --help` starts fast.
"""

from __future__ import annotations

from lakestack.cli._app import app, main, run

__all__ = ["app", "main", "run"]
