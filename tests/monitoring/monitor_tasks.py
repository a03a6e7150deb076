"""Task functions of the monitoring tests' projects (copied into each project's folder)."""

from __future__ import annotations

from pathlib import Path

from lakestack.pipelines import TaskContext


def retrain(ctx: TaskContext) -> str:
    """Record that the retraining job ran, with its trigger."""
    Path(str(ctx.params["marker"])).write_text("ran", encoding="utf-8")
    return "retrained"
