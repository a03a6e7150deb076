"""The typer application and `main`, which turns lakestack errors into exit code 1."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from lakestack import __version__
from lakestack.cli import (
    _access,
    _data,
    _demo,
    _deploy,
    _export,
    _features,
    _init,
    _models,
    _monitor,
    _pipelines,
    _project,
    _serve,
    _server,
    _tables,
)
from lakestack.cli._common import err_console, print_error
from lakestack.errors import ConfigError, LakestackError

__all__ = ["app", "main"]

app = typer.Typer(
    name="lakestack",
    help="lakestack: the MLOps loop on a Delta lakehouse (data, features, pipelines, models, serving, monitoring).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"lakestack {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    if debug:
        os.environ["LAKESTACK_DEBUG"] = "1"


# Each capability registers its commands here, one line each.
for _register in (
    _init.register,
    _project.register,
    _deploy.register,
    _tables.register,
    _features.register,
    _data.register,
    _pipelines.register,
    _models.register,
    _serve.register,
    _monitor.register,
    _access.register,
    _server.register,
    _demo.register,
    _export.register,
):
    _register(app)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: exit 0 on success, 1 on a lakestack error (no traceback), 2 on usage errors."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        app(args=argv, prog_name="lakestack")  # click exits 0, or 2 on a usage error
    except LakestackError as exc:
        if debug or os.environ.get("LAKESTACK_DEBUG") == "1":
            err_console.print_exception()
        message = str(exc)
        if isinstance(exc, ConfigError) and exc.problems and "\n" not in message:
            message += "\n" + "\n".join(f"  - {p}" for p in exc.problems)
        print_error(message)
        sys.exit(1)
