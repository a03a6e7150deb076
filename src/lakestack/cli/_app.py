"""The typer application and `main`, which turns lakestack errors into exit code 1."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
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

__all__ = ["app", "main", "run"]

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


def run() -> None:
    """The `lakestack` console script: `main`, then a clean exit that skips interpreter teardown.

    Arrow's thread pool can still hold a Python object (deltalake's file system) when the
    interpreter finalizes; releasing it there ends the process with `terminate called without
    an active exception` (exit 134) about one run in ten. So the script does what finalization
    would (wait for non-daemon threads, run atexit handlers, flush) and leaves with `os._exit`.
    """
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing left to say
            stream.flush()
    os._exit(code)


def _exit_code(code: object) -> int:
    """The status `sys.exit(code)` would give: None is 0, an int itself, anything else printed and 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
