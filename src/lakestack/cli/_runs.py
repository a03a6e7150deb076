"""`lakestack runs list|show|logs` and `lakestack lineage table|run`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from lakestack.cli._common import (
    LimitOption,
    RunIdArg,
    Scope,
    TableArg,
    command_group,
    console,
    err_console,
    print_json,
    scoped,
)

if TYPE_CHECKING:
    from lakestack.pipelines import TaskRun

__all__ = ["print_failure", "register", "seconds", "status_markup"]

runs_app = command_group("Runs of jobs: list, show, logs.")
lineage_app = command_group("Lineage: which runs wrote and read which table versions.")

_STYLE = {
    "succeeded": "green",
    "reused": "cyan",
    "running": "yellow",
    "failed": "bold red",
    "skipped": "magenta",
    "cancelled": "yellow",
}


def status_markup(status: str) -> str:
    """A status in its colour."""
    return f"[{_STYLE.get(status, 'white')}]{status}[/]"


def seconds(value: float | None) -> str:
    """Seconds for a table cell ('' for None)."""
    return "" if value is None else f"{value:.2f} s"


def _accesses(task: TaskRun, kind: str) -> str:
    items = task.reads if kind == "read" else task.writes
    return ", ".join(f"{a.table}@{a.version}" for a in items)


def _tasks_table(title: str, tasks: list[TaskRun]) -> Table:
    view = Table(title=title)
    for column in ("task", "status", "attempt", "duration", "read", "wrote", "error"):
        view.add_column(column, justify="right" if column in ("attempt", "duration") else "left")
    for t in tasks:
        view.add_row(
            t.task,
            status_markup(t.status),
            str(t.attempt),
            seconds(t.duration),
            _accesses(t, "read"),
            _accesses(t, "write"),
            escape((t.error or "")[:120]),
        )
    return view


def print_failure(task: TaskRun) -> None:
    """The failing task, its traceback and the tail of its log, on stderr."""
    from lakestack.pipelines import log_tail

    err_console.rule(f"[bold red]task {task.task} failed[/] (attempt {task.attempt})")
    err_console.print(escape(task.error or "failed"), highlight=False)
    if task.traceback:
        err_console.print(escape(task.traceback.rstrip()), highlight=False)
    tail = log_tail(task.log_path) if task.log_path else ""
    if tail:
        err_console.print(f"[dim]last lines of {task.log_path}:[/]")
        err_console.print(escape(tail), highlight=False)


@runs_app.command("list")
@scoped()
def list_runs(
    scope: Scope,
    job: Annotated[str | None, typer.Option(help="Only runs of this job.")] = None,
    status: Annotated[str | None, typer.Option(help="Only runs with this status.")] = None,
    limit: LimitOption = 20,
) -> None:
    """List runs, newest first."""
    from lakestack.pipelines import Records

    proj = scope.project()
    records = Records.for_environment(proj, scope.env)
    runs = records.runs(job=job, status=status, limit=limit)
    if scope.json:
        print_json([r.to_dict() for r in runs])
        return
    view = Table(title=f"runs in {records.lake.environment}")
    view.add_column("run", no_wrap=True, min_width=max((len(r.run_id) for r in runs), default=0))
    for column in ("job", "status", "trigger", "started (UTC)", "duration", "code"):
        view.add_column(column, justify="right" if column == "duration" else "left")
    for r in runs:
        code = f"{r.code_commit[:10]}{'+dirty' if r.code_dirty else ''}" if r.code_commit else ""
        view.add_row(
            r.run_id,
            r.job,
            status_markup(r.status),
            escape(r.trigger[:50]),
            f"{r.started_at:%Y-%m-%d %H:%M:%S}",
            seconds(r.duration),
            code,
        )
    console.print(view)


@runs_app.command()
@scoped()
def show(scope: Scope, run_id: RunIdArg) -> None:
    """Show a run: its status, trigger, parameters and each task's attempts."""
    from lakestack.pipelines import Records

    records = Records.for_environment(scope.project(), scope.env)
    run_record = records.run(run_id)
    tasks = records.task_runs(run_record.run_id)
    if scope.json:
        print_json({"run": run_record.to_dict(), "task_runs": [t.to_dict() for t in tasks]})
        return
    r = run_record
    console.print(
        f"run [bold]{r.run_id}[/] of [bold]{r.job}[/] in {r.environment}: {status_markup(r.status)}"
    )
    console.print(f"trigger: {escape(r.trigger)}; engine: {r.engine}; params: {r.params}")
    console.print(
        f"started {r.started_at:%Y-%m-%d %H:%M:%S} UTC; duration {seconds(r.duration) or '-'}; "
        f"code {r.code_commit or 'unversioned'}{' (dirty)' if r.code_dirty else ''}"
    )
    if r.resumed_from:
        console.print(f"resumed from run {r.resumed_from}")
    if r.error:
        console.print(f"[red]error:[/] {escape(r.error)}")
    console.print(_tasks_table("task attempts", tasks))


@runs_app.command()
@scoped(json=False)
def logs(
    scope: Scope,
    run_id: RunIdArg,
    task: Annotated[str | None, typer.Option(help="Only this task's log.")] = None,
) -> None:
    """Print the logs of a run's tasks (print, logging, tracebacks, crash dumps)."""
    from pathlib import Path

    from lakestack.errors import PipelineError
    from lakestack.pipelines import Records

    records = Records.for_environment(scope.project(), scope.env)
    run_record = records.run(run_id)
    final = records.final_task_runs(run_record.run_id)
    if task is not None and task not in final:
        raise PipelineError(
            f"run {run_record.run_id} has no task {task!r}; its tasks: {', '.join(final)}"
        )
    for name, record in final.items():
        if task is not None and name != task:
            continue
        path = Path(record.log_path) if record.log_path else None
        console.rule(f"{name} ({record.status})")
        if path is None or not path.exists():
            console.print("[dim](no log: the task did not run in this run)[/]")
            continue
        print(path.read_text(encoding="utf-8", errors="replace"), end="")


@lineage_app.command("table")
@scoped()
def lineage_table(scope: Scope, name: TableArg) -> None:
    """Which runs wrote a table at which versions, what they read, and what read it."""
    from lakestack.pipelines import table_lineage

    lineage = table_lineage(scope.project(), name, env=scope.env)
    if scope.json:
        print_json(lineage.to_dict())
        return
    console.print(f"[bold]{lineage.table}[/] in {lineage.environment}")
    for title, edges in (
        ("written by", lineage.writes),
        ("read by", lineage.reads),
        ("upstream: what the writing runs read", lineage.upstream),
        ("downstream: what the reading runs wrote", lineage.downstream),
    ):
        view = Table(title=title)
        for column in ("table", "version", "operation"):
            view.add_column(column)
        view.add_column(
            "run", no_wrap=True, min_width=max((len(e.run_id) for e in edges), default=0)
        )
        for column in ("job/task", "at (UTC)"):
            view.add_column(column)
        for e in edges:
            view.add_row(
                e.table,
                str(e.version),
                e.operation,
                e.run_id,
                f"{e.job}/{e.task}",
                f"{e.at:%Y-%m-%d %H:%M:%S}" if e.at else "",
            )
        console.print(view)


@lineage_app.command("run")
@scoped()
def lineage_run(scope: Scope, run_id: RunIdArg) -> None:
    """The table versions a run read and wrote, task by task."""
    from lakestack.pipelines import run_lineage

    lineage = run_lineage(scope.project(), run_id, env=scope.env)
    if scope.json:
        print_json(lineage.to_dict())
        return
    r = lineage.run
    console.print(
        f"run [bold]{r.run_id}[/] of [bold]{r.job}[/] in {r.environment}: {status_markup(r.status)}"
    )
    view = Table(title="tables read and written")
    for column in ("task", "kind", "table", "version", "operation"):
        view.add_column(column)
    for e in [*lineage.reads, *lineage.writes]:
        view.add_row(e.task, e.kind, e.table, str(e.version), e.operation)
    console.print(view)


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
    app.add_typer(lineage_app, name="lineage")
