"""`lakestack deploy`, `lakestack plan` and `lakestack deployments list|show`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from lakestack.cli._common import Scope, command_group, console, print_json, scoped

if TYPE_CHECKING:
    from lakestack.deploy import Change, Deployment, DeploymentLog

__all__ = ["register"]

deployments_app = command_group("Code versions deployed to an environment: list, show.")

_ACTION_STYLE = {"added": "green", "changed": "yellow", "removed": "red"}


def _changes_table(title: str, changes: list[Change]) -> Table:
    view = Table(title=title, title_justify="left")
    for column in ("kind", "name", "change", "details"):
        view.add_column(column)
    for c in changes:
        style = _ACTION_STYLE[c.action]
        view.add_row(c.kind, c.name, f"[{style}]{c.action}[/]", escape("\n".join(c.details)))
    return view


@scoped()
def plan(
    scope: Scope,
    markdown: Annotated[
        bool,
        typer.Option("--markdown", help="Print Markdown (a CI job summary or a PR comment)."),
    ] = False,
) -> None:
    """Show what deploying the working folder to an environment would add, change or remove."""
    from lakestack.deploy import plan as make_plan

    result = make_plan(scope.project(), scope.env)
    if scope.json:
        print_json(result.to_dict())
        return
    if markdown:
        print(result.to_markdown(), end="")
        return
    deployed = "nothing yet" if result.current is None else result.current.short_commit
    commit = (result.commit or "no commit")[:12] + (" (dirty)" if result.dirty else "")
    console.print(f"[bold]{result.environment}[/]: deployed {deployed}; this folder {commit}")
    if result.changes:
        console.print(_changes_table("changes a deploy would make", result.changes))
    else:
        console.print("no job, schedule, model, gate, endpoint or monitor changes")
    for reason in result.refusals:
        console.print(f"[red]a deploy would be refused:[/] {escape(reason)}")


@scoped()
def deploy(
    scope: Scope,
    run: Annotated[
        list[str] | None,
        typer.Option("--run", help="A job to run from the deployed code afterwards; repeatable."),
    ] = None,
    rollback: Annotated[
        bool, typer.Option("--rollback", help="Return to the previous deployment.")
    ] = False,
    ref: Annotated[
        str | None,
        typer.Option("--ref", help="Deploy this branch, tag or commit instead of HEAD."),
    ] = None,
    reason: Annotated[str, typer.Option(help="Why; recorded with the deployment.")] = "",
) -> None:
    """Deploy a code version (a git commit) to an environment; its scheduler runs that code."""
    from lakestack.cli._pipelines import print_run_result, run_with_progress
    from lakestack.deploy import deploy as do_deploy
    from lakestack.deploy import run_jobs

    proj = scope.project()
    result = do_deploy(proj, scope.env, ref=ref, rollback=rollback, reason=reason)
    d = result.deployment
    if scope.json:
        runs = run_jobs(result, run or [])
        print_json({**result.to_dict(), "runs": [r.to_dict() for r in runs]})
        if any(not r.ok for r in runs):
            raise typer.Exit(1)
        return
    verb = "rolled back" if d.action == "rollback" else "deployed"
    console.print(
        f"[green]{verb}[/] {d.short_commit} to [bold]{d.environment}[/] as {d.deployment_id}"
        + (f" (was {result.previous.short_commit})" if result.previous else "")
    )
    if result.changes:
        console.print(_changes_table("changes", result.changes))
    console.print(f"jobs run from {result.project.root}")
    for job in run or []:
        outcome = run_with_progress(result.project, job, env=d.environment, trigger=result.trigger)
        print_run_result(outcome)
        if not outcome.ok:
            raise typer.Exit(1)


def _deployments_table(title: str, rows: list[Deployment]) -> Table:
    view = Table(title=title, title_justify="left")
    for column in ("id", "action", "commit", "refs", "when", "who", "jobs", "reason"):
        view.add_column(column)
    for d in rows:
        view.add_row(
            d.deployment_id,
            d.action,
            d.short_commit,
            ", ".join(r.rpartition("/")[2] for r in d.refs),
            f"{d.deployed_at:%Y-%m-%d %H:%M:%S}",
            d.principal,
            ", ".join(d.jobs),
            escape(d.reason),
        )
    return view


def _deployment_log(scope: Scope) -> tuple[DeploymentLog, str]:
    """The deployment log of the environment `--env` names, and that environment's name."""
    from lakestack.deploy import DeploymentLog
    from lakestack.lake import Lake

    proj, environment = scope.environment()
    return DeploymentLog(Lake.for_environment(proj, environment)), environment


@deployments_app.command("list")
@scoped()
def list_deployments(
    scope: Scope,
    limit: Annotated[int, typer.Option("-n", help="The most recent N.")] = 20,
) -> None:
    """The deployments of an environment, newest first."""
    log, environment = _deployment_log(scope)
    rows = log.all()[::-1][:limit]
    if scope.json:
        print_json([d.to_dict() for d in rows])
        return
    if not rows:
        console.print(
            f"nothing is deployed to {environment} yet: lakestack deploy --env {environment}"
        )
        return
    console.print(_deployments_table(f"deployments of {environment}", rows))


@deployments_app.command()
@scoped()
def show(
    scope: Scope,
    deployment_id: Annotated[
        str | None, typer.Argument(help="A deployment id or prefix (default: the current one).")
    ] = None,
) -> None:
    """One deployment: its commit, what it made active, and lakestack.yaml as committed."""
    from lakestack.errors import DeployError

    log, environment = _deployment_log(scope)
    found = log.get(deployment_id) if deployment_id else log.current()
    if found is None:
        raise DeployError(
            f"nothing is deployed to {environment} yet: lakestack deploy --env {environment}"
        )
    if scope.json:
        print_json(found.to_dict(full=True))
        return
    console.print(_deployments_table(f"deployment {found.deployment_id}", [found]))
    lines = [f"commit: {found.code_commit}"]
    if found.previous_id:
        lines.append(f"replaced: {found.previous_id}")
    if found.restores_id:
        lines.append(f"restores: {found.restores_id}")
    lines.append(f"jobs: {', '.join(found.jobs) or 'none'}")
    for job, starts in found.schedules.items():
        lines.append(f"  {job}: {starts}")
    lines.append(f"endpoints: {', '.join(found.endpoints) or 'none'}")
    lines.append(f"monitors: {', '.join(found.monitors) or 'none'}")
    console.print(escape("\n".join(lines)), highlight=False)
    console.rule("lakestack.yaml as deployed")
    console.print(escape(found.project_file), highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(deploy)
    app.command()(plan)
    app.add_typer(deployments_app, name="deployments")
