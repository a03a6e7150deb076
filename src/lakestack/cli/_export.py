"""`lakestack export airflow|k8s`: the project for Airflow and Kubernetes; and the step
commands an orchestrator runs (`lakestack run JOB --task T --run-id R`, `--finish`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakestack.cli._common import Scope, command_group, console, open_project, print_json, scoped
from lakestack.errors import PipelineError

__all__ = ["register", "run_step"]

export_app = command_group(
    "Export the project to other orchestrators: Airflow DAGs, Kubernetes manifests."
)


def _write(files: dict[str, str], out: Path) -> list[str]:
    if out.exists() and not out.is_dir():
        raise PipelineError(f"{out} is a file; give --out a folder to write the export into")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sorted(files.items()):
        (out / name).write_text(text, encoding="utf-8")
        written.append(str(out / name))
    return written


def _report(kind: str, written: list[str], json: bool) -> None:
    if json:
        print_json({"export": kind, "files": written})
        return
    console.print(f"{kind}: wrote {len(written)} file(s)")
    for path in written:
        console.print(f"  {path}", highlight=False)


@export_app.command("airflow")
@scoped()
def airflow(
    scope: Scope,
    job: Annotated[
        list[str] | None, typer.Option("--job", help="Only this job (repeatable; default: all).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="The folder to write the DAG files to (default: dags/).")
    ] = None,
    project_dir: Annotated[
        str | None,
        typer.Option(help="The project folder as Airflow's workers see it (default: this one)."),
    ] = None,
    lakestack: Annotated[
        str, typer.Option(help="The lakestack command on Airflow's workers.")
    ] = "lakestack",
) -> None:
    """Write one Airflow DAG per job: a task per lakestack task, with its retries and timeout."""
    from lakestack.pipelines import AirflowExport, airflow_dags

    proj, environment = scope.environment()
    export = AirflowExport(environment, project_dir or str(proj.root), lakestack)
    files = airflow_dags(proj, export, job or None)
    _report("airflow", _write(files, out or proj.root / "dags"), scope.json)


@export_app.command("k8s")
@scoped()
def k8s(
    scope: Scope,
    image: Annotated[
        str | None,
        typer.Option(help="The image built from the Dockerfile (default: <project>:latest)."),
    ] = None,
    namespace: Annotated[str | None, typer.Option(help="The namespace of every object.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="The folder to write to (default: deploy/k8s/<env>/).")
    ] = None,
) -> None:
    """Write a Dockerfile and manifests: endpoints, scheduled jobs, scheduler, monitor exporter."""
    from lakestack.pipelines import KubernetesExport, kubernetes_manifests

    proj, environment = scope.environment()
    export = KubernetesExport(environment, image or f"{proj.name.lower()}:latest", namespace)
    files = kubernetes_manifests(proj, export)
    target = out or proj.root / "deploy" / "k8s" / environment
    _report("k8s", _write(files, target), scope.json)


def run_step(
    project: Path | None,
    env: str | None,
    job: str,
    *,
    task: str | None,
    finish: bool,
    run_id: str | None,
    attempt: int,
    engine: str | None,
    json: bool,
) -> None:
    """`lakestack run JOB --task T | --finish --run-id R`: one step of an orchestrated run."""
    from lakestack.cli._runs import status_markup
    from lakestack.pipelines import external_run_id, finish_run, run_task

    if run_id is None or (task is None) == (not finish):
        raise typer.BadParameter("give --run-id with exactly one of --task or --finish")
    proj = open_project(project)
    rid = external_run_id(run_id)
    if finish:
        result = finish_run(proj, job, run_id=rid, env=env)
        if json:
            print_json(result.to_dict())
        else:
            console.print(f"run {rid}: {status_markup(result.status)}")
        if not result.ok:
            raise typer.Exit(1)
        return
    assert task is not None
    row = run_task(proj, job, task, run_id=rid, env=env, attempt=attempt, engine=engine)
    if json:
        print_json(row.to_dict())
    else:
        console.print(f"{task} (attempt {attempt}): {status_markup(row.status)}")
        if row.error:
            console.print(row.traceback or row.error, highlight=False, markup=False)
    if row.status != "succeeded":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
