"""`lakestack validate` (`lakestack init` is in `_init.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from lakestack.cli._common import Scope, console, err_console, plain, print_json, scoped

if TYPE_CHECKING:
    from lakestack.config import Project

__all__ = ["register"]


@scoped()
def validate(
    scope: Scope,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="Also open the environment's lake and registry: the tables, columns, models "
            "and aliases the file names must exist there.",
        ),
    ] = False,
) -> None:
    """Check lakestack.yaml and print every problem at once (exit 1 when there are any)."""
    from lakestack.config import load_project, validate_project_file
    from lakestack.pipelines import check_imports

    file, problems = validate_project_file(scope.path)
    access = None
    if not problems:  # the file is valid: check that every task function imports
        loaded = load_project(file)
        problems = check_imports(loaded)
        access = _access_summary(loaded)
        if deep and not problems:
            from lakestack.checks import deep_problems

            problems = deep_problems(loaded, scope.env)
    if scope.json:
        print_json(
            {
                "file": str(file),
                "valid": not problems,
                "problems": [{"key": p.key, "message": p.message} for p in problems],
                "access": access,
            }
        )
    elif problems:
        err_console.print(plain(f"{file}: {len(problems)} problem(s)", "bold red"), soft_wrap=True)
        for problem in problems:
            line = Text.assemble("  ", (problem.key or "(file)", "bold"), ": ", problem.message)
            err_console.print(line, highlight=False, soft_wrap=True)
    else:
        console.print(f"[green]{file} is valid[/]")
        if access is not None:
            console.print(f"access: {access}", highlight=False)
    if problems:
        raise typer.Exit(1)


def _access_summary(project: Project) -> str:
    principals = project.config.access.principals
    if not principals:
        return (
            "single-user: no access.principals, so nothing is checked or audited (docs/access.md)"
        )
    protected = ", ".join(project.config.access.protected) or "none"
    return f"{len(principals)} principal(s), roles checked and audited; protected: {protected}"


def register(app: typer.Typer) -> None:
    app.command()(validate)
