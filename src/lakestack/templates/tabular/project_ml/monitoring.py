"""Monitoring: one pass of the model's monitor, as the scheduled `monitoring` job runs it."""

from __future__ import annotations

from typing import Any

from lakestack.monitoring import run_monitor
from lakestack.pipelines import TaskContext

from . import settings


def run(ctx: TaskContext) -> dict[str, Any]:
    """Process the monitor's new complete windows, evaluate its alerts, act on them."""
    monitor = ctx.params.get("monitor", settings.MODEL)
    result = run_monitor(ctx.project, monitor, ctx.environment, lake=ctx.lake)
    for alert in result.alerts:
        ctx.logger.warning("alert %s: %s", alert.rule, alert.state)
    return {"windows": len(result.windows), "alerts": [a.rule for a in result.alerts]}
