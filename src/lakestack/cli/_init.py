"""`lakestack init`: a project from a template, or from the user's own data (with prompts when
run in a terminal without options), and `--ci-only` workflows for an existing project."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from lakestack.cli._common import console
from lakestack.errors import DeployError

if TYPE_CHECKING:
    from lakestack.deploy import DataProfile, InitResult

__all__ = ["InitAnswers", "ask_init", "register"]


@dataclass(frozen=True)
class InitAnswers:
    """What the prompts asked for: the data, the label, the problem, the time column, the CI."""

    data: str
    label: str
    problem: str | None
    time_column: str | None
    ci: str


def ask_init(data: str | None = None) -> InitAnswers | None:
    """Ask for `init`'s options in a terminal; None when no data is given (a bare project).

    The defaults come from the data: the label a column named like one (`label`, `target`,
    `y`, ...), the problem type the label implies, the only date or time column.
    """
    from rich.prompt import Prompt

    from lakestack.deploy import inspect_data, read_data

    data = data or Prompt.ask(
        "Data to learn from: a CSV or Parquet file or a Delta table's folder "
        "(empty: only a commented lakestack.yaml)",
        default="",
        show_default=False,
    )
    if not data:
        return None
    frame = read_data(data)
    console.print(
        f"{escape(data)}: {frame.height} rows; columns: {escape(', '.join(frame.columns))}"
    )
    guesses = [
        c for c in frame.columns if c.lower() in ("label", "target", "y", "class", "outcome")
    ]
    choices = list(frame.columns)
    if guesses:
        label = Prompt.ask("Column to predict", choices=choices, default=guesses[0])
    else:
        label = Prompt.ask("Column to predict", choices=choices)
    try:
        inferred: str | None = inspect_data(frame, source=data, label=label).problem
    except DeployError:
        inferred = None
    problem = Prompt.ask(
        "Problem type", choices=["binary", "multiclass", "regression"], default=inferred
    )
    profile = inspect_data(frame, source=data, label=label, problem=problem)
    time = Prompt.ask(
        "Column ordering the rows (the holdout is the latest part; empty: split at random)",
        choices=["", *[c for c in frame.columns if c != label]],
        default=profile.time_column or "",
        show_choices=False,
    )
    ci = Prompt.ask("CI/CD workflows", choices=["github", "gitlab", "none"], default="github")
    return InitAnswers(data, label, problem, time or None, ci)


def _print_profile(profile: DataProfile) -> None:
    view = Table(
        title=f"{profile.source}: {profile.rows} rows, {profile.problem}", title_justify="left"
    )
    for column in ("column", "type", "role"):
        view.add_column(column)
    for c in profile.columns:
        view.add_row(c.name, c.type, c.role + (f" ({c.why})" if c.why else ""))
    console.print(view)


def _print_written(result: InitResult) -> None:
    _print_profile(result.profile)
    folder = result.folder
    console.print(f"wrote {len(result.files)} files to [bold]{escape(str(folder))}[/]; next:")
    for step in (
        f"cd {folder}",
        "git init -b main && git add -A && git commit -m 'first version'",
        "lakestack run ingest && lakestack run training   # a gated version of the model",
        "pytest                                            # the project's own tests",
    ):
        console.print(f"  {escape(step)}", highlight=False)


def init(
    directory: Annotated[Path, typer.Argument(help="The project folder.")] = Path("."),
    data: Annotated[
        str | None,
        typer.Option(
            help="Your data: a CSV or Parquet file, a Delta table's folder, or a table "
            "(schema.table) of the lakestack project here. Writes a complete project."
        ),
    ] = None,
    label: Annotated[str | None, typer.Option(help="With --data: the column to predict.")] = None,
    time_column: Annotated[
        str | None,
        typer.Option(help="With --data: the column ordering the rows (default: the only one)."),
    ] = None,
    problem: Annotated[
        str | None,
        typer.Option(help="With --data: binary, multiclass or regression (default: inferred)."),
    ] = None,
    ci: Annotated[
        str | None,
        typer.Option(help="CI/CD workflows: github, gitlab or none (default with --data: github)."),
    ] = None,
    ci_only: Annotated[
        bool, typer.Option("--ci-only", help="Only add CI/CD workflows to an existing project.")
    ] = False,
    template: Annotated[
        str,
        typer.Option(
            "--template",
            "-t",
            help="Without --data: default (a commented lakestack.yaml) or flights.",
        ),
    ] = "default",
    name: Annotated[
        str | None, typer.Option(help="Project name (default: the folder name).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing project files.")] = False,
) -> None:
    """Create a project: from your data (--data, --label), from a template, or add CI/CD."""
    from lakestack.deploy import check_ci, init_project, write_ci

    if ci_only:
        from lakestack.config import load_project

        project = load_project(directory)
        written = write_ci(
            project.root, check_ci(ci or "github"), jobs=list(project.config.jobs), force=force
        )
        for path in written:
            console.print(f"wrote [bold]{escape(str(path))}[/]")
        return
    answers: InitAnswers | None = None
    if data is None and label is None and template == "default" and _interactive():
        answers = ask_init()
    elif data is not None or label is not None:
        if data is None or label is None:
            raise DeployError("--data and --label go together: the data, and the column to predict")
        answers = InitAnswers(data, label, problem, time_column, ci or "github")
    if answers is not None:
        result = init_project(
            directory,
            data=answers.data,
            label=answers.label,
            problem=answers.problem,
            time_column=answers.time_column,
            ci=check_ci(answers.ci),
            name=name,
            force=force,
        )
        _print_written(result)
        return
    from lakestack.templates import scaffold

    target = scaffold(template, directory, name=name, force=force)
    if ci is not None:
        from lakestack.config import load_project

        jobs = list(load_project(target).config.jobs)
        for path in write_ci(target.parent, check_ci(ci), jobs=jobs, force=force):
            console.print(f"wrote [bold]{escape(str(path))}[/]")
    console.print(
        f"wrote [bold]{target}[/]; check it with [bold]lakestack validate -p {target.parent}[/]"
    )


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def register(app: typer.Typer) -> None:
    app.command()(init)
