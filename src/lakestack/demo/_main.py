"""The demo's state and its sequence of stages."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakestack.demo._features import stage_features
from lakestack.demo._ingest import stage_ingest
from lakestack.demo._models import stage_models
from lakestack.demo._monitoring import stage_monitoring
from lakestack.demo._serving import stage_serving
from lakestack.demo._show import console, progress
from lakestack.demo._validation import stage_validation

if TYPE_CHECKING:
    from rich.progress import Progress

    from lakestack.config import Project
    from lakestack.lake import Lake

__all__ = ["STAGES", "Demo", "run_demo"]


@dataclass
class Demo:
    """The state the stages share: the project, its dev lake, and what each stage found.

    Attributes:
        project: the scaffolded flights project.
        lake: its dev lake.
        results: what the stages found, by name (the CLI prints a summary of them).
        cleanups: called in reverse order when the demo ends (stop the endpoint's server).
    """

    project: Project
    lake: Lake
    results: dict[str, Any] = field(default_factory=dict)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def progress(self) -> Progress:
        """A progress display on the demo's console."""
        return progress()


STAGES: list[tuple[str, Callable[[Demo], None]]] = [
    ("ingest", stage_ingest),
    ("features", stage_features),
    ("validation", stage_validation),
    ("models", stage_models),
    ("serving", stage_serving),
    ("monitoring", stage_monitoring),
]
"""The stages, in order: a name and a function of the `Demo` (its docstring heads the stage)."""


def run_demo(folder: Path) -> Demo:
    """Scaffold the flights project into `folder` and run every stage.

    Raises:
        LakestackError: a stage could not go on; the message says which and why.
    """
    from lakestack.config import load_project
    from lakestack.lake import Lake
    from lakestack.templates import scaffold

    scaffold("flights", folder, name="flights_demo", force=True)
    project = load_project(folder)
    demo = Demo(project=project, lake=Lake.for_environment(project, "dev"))
    console.rule(f"[bold]lakestack demo[/] in {project.root}")
    try:
        for name, stage in STAGES:
            started = time.perf_counter()
            console.rule(f"[bold cyan]{name}[/]: {(stage.__doc__ or '').strip().splitlines()[0]}")
            stage(demo)
            console.print(f"[dim]{name} took {time.perf_counter() - started:.1f} s[/]")
    finally:
        for cleanup in reversed(demo.cleanups):
            cleanup()
    return demo
