"""`lakestack run`, `scheduler` and `trigger` (and, through `_runs`, `runs` and `lineage`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from lakestack.cli import _runs
from lakestack.cli._common import EngineOption, Scope, console, err_console, print_json, scoped
from lakestack.cli._runs import print_failure, seconds, status_markup

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from lakestack.config import Project
    from lakestack.pipelines import RunResult, RunUpdate

__all__ = ["print_run_result", "register", "run_with_progress"]


def _parse_params(items: list[str] | None) -> dict[str, Any]:
    import yaml

    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r} is not key=value", param_hint="--param")
        params[key.strip()] = yaml.safe_load(value) if value else ""
    return params


class _Display:
    """A rich progress bar of a run, with one line per finished task."""

    def __init__(self, progress: Progress, *, task_lines: bool = True) -> None:
        self.progress = progress
        self.task_lines = task_lines
        self.bar: TaskID | None = None
        self.running: set[str] = set()

    def __call__(self, update: RunUpdate) -> None:
        progress = self.progress
        if update.kind == "run_started":
            self.bar = progress.add_task(f"{update.job} {update.run_id}", total=update.total)
            return
        if self.bar is None:
            return
        if update.kind == "task_started" and update.task:
            self.running.add(update.task)
        elif update.kind == "task_retrying" and update.task:
            self.running.discard(update.task)
            progress.console.print(
                f"  [yellow]retry[/] {update.task} (attempt {update.attempt} failed: "
                f"{escape(update.error or '')}; next in {update.duration or 0:.1f} s)"
            )
        elif update.kind == "task_finished" and update.task:
            self.running.discard(update.task)
            progress.advance(self.bar)
            if self.task_lines or update.status != "succeeded":
                progress.console.print(
                    f"  {status_markup(update.status or '')} {update.task} {seconds(update.duration)}"
                )
        label = ", ".join(sorted(self.running)) or update.job
        progress.update(self.bar, description=f"running {label}"[:40])


def run_with_progress(
    project: Project, job: str, *, task_lines: bool = True, **options: Any
) -> RunResult:
    """Run a job with a rich progress display (used by `lakestack run` and the demo).

    Args:
        task_lines: print a line for each finished task (else only for those that failed).
        **options: passed to `run_job`.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from lakestack.pipelines import run_job

    with Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        display = _Display(progress, task_lines=task_lines)
        return run_job(project, job, on_update=display, **options)


@scoped()
def run(
    scope: Scope,
    job: Annotated[str, typer.Argument(help="The job's name in lakestack.yaml.")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="key=value for every task (YAML value); repeatable."),
    ] = None,
    from_task: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Resume: rerun this task and those after it, reusing the earlier run's outputs.",
        ),
    ] = None,
    resume: Annotated[
        str | None, typer.Option("--run", help="The run to resume (default: the latest).")
    ] = None,
    engine: EngineOption = None,
    workers: Annotated[int | None, typer.Option(help="The most tasks at once.")] = None,
    task: Annotated[
        str | None,
        typer.Option(help="Run only this task, as one step of --run-id (for orchestrators)."),
    ] = None,
    finish: Annotated[
        bool, typer.Option("--finish", help="Close --run-id after its steps (for orchestrators).")
    ] = False,
    run_id: Annotated[
        str | None, typer.Option(help="The run a --task or --finish step belongs to.")
    ] = None,
    attempt: Annotated[int, typer.Option(help="The number of this --task attempt.")] = 1,
) -> None:
    """Run a job now: its tasks in dependency order, independent ones in parallel."""
    from lakestack.pipelines import run_job

    if task is not None or finish or run_id is not None:
        from lakestack.cli._export import run_step

        run_step(
            scope.path, scope.env, job, task=task, finish=finish, run_id=run_id, attempt=attempt,
            engine=engine, json=scope.json,
        )  # fmt: skip
        return
    proj = scope.project()
    from lakestack.control_plane import remote_for

    remote = remote_for(proj, scope.env)
    if remote is not None:  # the environment's control plane runs it
        if from_task or resume or engine or workers:
            raise typer.BadParameter(
                "--from, --run, --engine and --workers are not sent to a control plane; run the "
                f"job as {remote.environment}'s server runs it"
            )
        _run_remotely(remote, job, _parse_params(param), scope.json)
        return
    options: dict[str, Any] = {
        "env": scope.env,
        "params": _parse_params(param),
        "from_task": from_task,
        "resume": resume,
        "engine": engine,
        "max_workers": workers,
    }
    try:
        result = (
            run_job(proj, job, **options) if scope.json else run_with_progress(proj, job, **options)
        )
    except KeyboardInterrupt:
        err_console.print(f"[yellow]run of {job} cancelled; its record says so[/]")
        raise typer.Exit(130) from None
    if scope.json:
        print_json(result.to_dict())
    else:
        print_run_result(result)
    if not result.ok:
        raise typer.Exit(1)


def _run_remotely(remote: Any, job: str, params: dict[str, Any], json: bool) -> None:
    started = remote.run(job, params)
    err_console.print(f"run {started['run_id']} of {job} started by {remote.url}", highlight=False)
    finished = remote.wait_for_run(started["run_id"])
    if json:
        print_json(finished)
    else:
        console.print(
            f"run {finished['run_id']} of {job} in {remote.environment}: "
            f"{status_markup(finished['status'])}"
        )
        for task in finished["tasks"]:
            if task["status"] == "failed":
                console.print(f"  {escape(task['task'])}: {escape(str(task['error']))}")
    if finished["status"] != "succeeded":
        raise typer.Exit(1)


def print_run_result(result: RunResult) -> None:
    """A finished run: its status, and each failed task with its traceback and log."""
    run = result.run
    console.print(
        f"run [bold]{run.run_id}[/] of [bold]{run.job}[/] in {run.environment}: "
        f"{status_markup(run.status)} in {seconds(run.duration)}"
    )
    for task in result.failed:
        print_failure(task)
    if run.status == "failed":
        console.print(
            f"fix it, then resume with: lakestack run {run.job} --env {run.environment} "
            f"--from {result.failed[0].task if result.failed else 'TASK'}"
        )


@scoped(json=False)
def scheduler(
    scope: Scope,
    once: Annotated[
        bool, typer.Option("--once", help="One tick: start what is due, wait for it, exit.")
    ] = False,
    interval: Annotated[float, typer.Option(help="Seconds between ticks.")] = 15.0,
    engine: EngineOption = None,
) -> None:
    """Run the deployed code's jobs on their cron schedules (UTC) and triggers until Ctrl-C."""
    import logging

    from lakestack.deploy import DeployedScheduler, Deployment
    from lakestack.pipelines import Launch

    def launched(launch: Launch) -> None:
        console.print(
            f"starting run {launch.run_id} of [bold]{launch.job}[/]: {escape(launch.reason)}"
        )

    def finished(update: RunUpdate) -> None:
        if update.kind == "run_finished":
            console.print(
                f"run {update.run_id} of [bold]{update.job}[/]: {status_markup(update.status or '')} "
                f"in {seconds(update.duration)}"
            )

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")

    def switched(deployment: Deployment | None) -> None:
        if deployment is None:
            console.print("nothing is deployed here yet: scheduling the working folder")
        else:
            console.print(
                f"scheduling deployment {deployment.deployment_id} "
                f"(commit {deployment.short_commit})"
            )

    proj = scope.project()
    sched = DeployedScheduler(
        proj,
        scope.env,
        on_deployment=switched,
        background=not once,
        engine=engine,
        on_launch=launched,
        on_update=finished,
    )
    if once:
        launches = sched.tick()
        if not launches:
            console.print(f"nothing is due in {sched.environment}")
        failed = [r for r in sched.results if not r.ok]
        for result in failed:
            for task in result.failed:
                print_failure(task)
        if failed or sched.errors:
            raise typer.Exit(1)
        return
    console.print(
        f"scheduler of [bold]{sched.environment}[/], ticking every {interval:g} s; Ctrl-C stops it"
    )
    try:
        sched.run_forever(interval)
    except KeyboardInterrupt:
        console.print("scheduler stopped; running runs were cancelled and recorded")


@scoped(json=False)
def trigger(
    scope: Scope,
    name: Annotated[str, typer.Argument(help="A job, or an event some job triggers on.")],
    reason: Annotated[str, typer.Option(help="Why; recorded as the run's trigger.")] = "",
) -> None:
    """Queue a trigger: the scheduler of the environment runs the jobs at its next tick."""
    from lakestack.control_plane import remote_for
    from lakestack.pipelines import trigger as queue_trigger

    proj, environment = scope.environment()
    remote = remote_for(proj, scope.env)  # the environment's control plane queues it
    jobs = (
        remote.trigger(name, reason)["jobs"]
        if remote
        else queue_trigger(proj, name, reason, env=scope.env)
    )
    console.print(
        f"queued {name!r} for {', '.join(jobs)} in {environment}; "
        f"`lakestack scheduler --env {environment}` runs it"
    )


def register(app: typer.Typer) -> None:
    app.command()(run)
    _runs.register(app)
    app.command()(scheduler)
    app.command()(trigger)
