"""`lakestack validate` (`lakestack init` is in `_init.py`)."""

from __future__ import annotations

import typer

from lakestack.cli._common import JsonOption, ProjectOption, console, err_console, print_json

__all__ = ["register"]


def validate(project: ProjectOption = None, json: JsonOption = False) -> None:
    """Check lakestack.yaml and print every problem at once (exit 1 when there are any)."""
    from lakestack.config import load_project, validate_project_file
    from lakestack.pipelines import check_imports

    file, problems = validate_project_file(project)
    if not problems:  # the file is valid: check that every task function imports
        problems = check_imports(load_project(file))
    if json:
        print_json(
            {
                "file": str(file),
                "valid": not problems,
                "problems": [{"key": p.key, "message": p.message} for p in problems],
            }
        )
    elif problems:
        err_console.print(f"[bold red]{file}: {len(problems)} problem(s)[/]", soft_wrap=True)
        for problem in problems:
            err_console.print(
                f"  [bold]{problem.key or '(file)'}[/]: {problem.message}", highlight=False
            )
    else:
        console.print(f"[green]{file} is valid[/]")
    if problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(validate)
