"""Monitoring: the `monitoring` job's task, one monitor pass as the scheduler runs it."""

from __future__ import annotations

from typing import Any

from lakestack.monitoring import run_monitor
from lakestack.pipelines import TaskContext


def run(ctx: TaskContext) -> dict[str, Any]:
    """Process the monitor's new complete windows, evaluate its alerts, act on them."""
    result = run_monitor(ctx.project, ctx.params["monitor"], ctx.environment, lake=ctx.lake)
    for alert in result.alerts:
        ctx.logger.warning("alert %s: %s", alert.rule, alert.state)
    return {"windows": len(result.windows), "alerts": [a.rule for a in result.alerts]}
