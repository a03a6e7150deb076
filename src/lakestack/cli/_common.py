"""What every command shares: the console, options, project loading and error rendering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from lakestack.config import Project
    from lakestack.lake import Lake

__all__ = [
    "EnvOption",
    "JsonOption",
    "ProjectOption",
    "console",
    "err_console",
    "open_lake",
    "open_project",
    "print_json",
]

console = Console()
err_console = Console(stderr=True)

ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-p",
        help="The project folder (default: LAKESTACK_PROJECT or the current folder).",
        show_default=False,
    ),
]
EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        help="The environment (default: LAKESTACK_ENV or the file's).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def open_project(project: Path | None) -> Project:
    """Load the project from `--project` or the current folder."""
    from lakestack.config import load_project

    return load_project(project)


def open_lake(project: Path | None, env: str | None) -> Lake:
    """The lake of an environment of the project."""
    from lakestack.lake import Lake

    return Lake.for_environment(open_project(project), env)


def print_json(data: Any) -> None:
    """Print data as JSON on stdout (no colours, so it pipes cleanly)."""
    print(json.dumps(data, indent=2, default=str))
