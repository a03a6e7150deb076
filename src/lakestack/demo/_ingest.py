"""The demo's ingest stage: the `ingest` job through the runner, its lineage, the lake after it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from lakestack.demo._show import console, progress

if TYPE_CHECKING:
    from lakestack.demo._main import Demo
    from lakestack.pipelines import RunResult, RunUpdate

__all__ = ["stage_ingest"]


def _run_ingest(demo: Demo) -> RunResult:
    """Run the `ingest` job with a progress bar; a failed run is a `PipelineError`."""
    from lakestack.errors import PipelineError
    from lakestack.pipelines import run_job

    with progress(40) as bar:
        task = bar.add_task("ingest", total=None)

        def show(update: RunUpdate) -> None:
            if update.kind == "run_started":
                bar.update(task, total=update.total, description=f"ingest {update.run_id}")
            elif update.kind == "task_finished":
                bar.advance(task)

        result = run_job(
            demo.project, "ingest", env=demo.lake.environment, trigger="demo", on_update=show
        )
    if not result.ok:
        failures = "; ".join(f"{t.task}: {t.error} (its log: {t.log_path})" for t in result.failed)
        raise PipelineError(
            f"the ingest job failed in run {result.run_id}: {failures}. See "
            f"`lakestack runs show {result.run_id} -p {demo.project.root}`."
        )
    return result


def stage_ingest(demo: Demo) -> None:
    """Ingest: the `ingest` job runs the raw files into bronze.*, cleaned and typed into silver.*."""
    result = _run_ingest(demo)
    demo.results["ingest run"] = result.run_id
    run = result.run
    view = Table(
        title=f"run {run.run_id} of job ingest: {run.status} in {run.duration or 0:.1f} s "
        f"({len(result.tasks)} tasks, each in a worker process; independent ones in parallel)"
    )
    for column in ("task", "status", "started", "duration", "read", "wrote"):
        view.add_column(column, justify="right" if column in ("started", "duration") else "left")
    for task in sorted(result.tasks, key=lambda t: (t.started_at or run.started_at, t.task)):
        offset = ((task.started_at or run.started_at) - run.started_at).total_seconds()
        view.add_row(
            task.task,
            task.status,
            f"+{offset:.1f} s",
            f"{task.duration or 0:.1f} s",
            ", ".join(f"{a.table}@{a.version}" for a in task.reads),
            ", ".join(f"{a.table}@{a.version}" for a in task.writes),
        )
    console.print(view)

    lineage = Table(title="lineage: the table versions this run wrote, from the versions it read")
    for column in ("table", "version", "written by", "from"):
        lineage.add_column(column)
    for task in result.tasks:
        for access in task.writes:
            lineage.add_row(
                access.table,
                str(access.version),
                f"{task.task} ({access.operation})",
                ", ".join(f"{a.table}@{a.version}" for a in task.reads) or "the raw files",
            )
    console.print(lineage)

    catalog = Table(title=f"the {demo.lake.environment} lake after ingest")
    for column in ("table", "rows", "version", "columns"):
        catalog.add_column(column, justify="left" if column == "table" else "right")
    for info in demo.lake.catalog():
        if not info.name.startswith("system."):  # run records: see `lakestack runs list`
            catalog.add_row(info.name, f"{info.rows:,}", str(info.version), str(len(info.columns)))
    console.print(catalog)
    raw = demo.lake.info("bronze.flights").rows
    kept = demo.lake.info("silver.flights").rows
    demo.results["silver.flights rows"] = kept
    console.print(
        f"silver.flights keeps {kept:,} of {raw:,} flights: the {raw - kept:,} cancelled or "
        "diverted flights have no arrival delay to learn from. See the run again with "
        f"`lakestack runs show {run.run_id} -p {demo.project.root}`."
    )
