"""Alert rules over the metric tables, their state in `monitoring.alerts`, and their actions.

A rule that starts firing gets a new alert (state `firing`) and its actions run once; while it
keeps firing nothing is sent again; when its condition clears the alert is `resolved` and the
log and webhook actions are told so.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from lakestack.errors import MonitoringError
from lakestack.monitoring._actions import Alert, RetrainFailedError, outcomes_json, run_action
from lakestack.monitoring._rules import parse_condition
from lakestack.monitoring._tables import metric_tables, read_or_none
from lakestack.system_tables import ALERTS

if TYPE_CHECKING:
    import polars as pl

    from lakestack.config import MonitorConfig, Project
    from lakestack.lake import Lake
    from lakestack.metric_catalog import ProblemType

__all__ = ["evaluate_alerts", "read_alerts"]


def read_alerts(lake: Lake, monitor: str | None = None) -> pl.DataFrame | None:
    """The rows of `monitoring.alerts` (of one monitor), or None before the first alert."""
    import polars as pl

    frame = read_or_none(lake, ALERTS.name)
    if frame is not None and monitor is not None:
        frame = frame.filter(pl.col("monitor") == monitor)
    return frame


def evaluate_alerts(
    project: Project,
    lake: Lake,
    name: str,
    config: MonitorConfig,
    now: datetime,
    problem: ProblemType | None = None,
) -> list[Alert]:
    """Evaluate a monitor's rules, record state changes and run the actions of changes.

    Args:
        problem: the model's problem type when known: a `quality.<metric>` must fit it.

    Returns:
        The alerts that started firing or resolved in this evaluation.

    Raises:
        MonitoringError: a rule does not parse, or names a metric that does not fit; or a
            rule started firing but its `retrain` action could not queue the job (the other
            rules' changes are recorded, that alert is not).
    """
    import polars as pl

    if not config.alerts:
        return []
    conditions = {
        rule.name: parse_condition(rule.when, rule.name, problem) for rule in config.alerts
    }
    tables = metric_tables(name)
    frames = {
        table: read_or_none(lake, tables[table]) for table in {c.table for c in conditions.values()}
    }
    existing = read_alerts(lake, name)
    open_alerts: dict[str, dict[str, object]] = {}
    if existing is not None:
        for row in existing.filter(pl.col("state") == "firing").iter_rows(named=True):
            open_alerts[str(row["rule"])] = row
    changes: list[Alert] = []
    records: list[dict[str, object]] = []
    failures: list[str] = []
    for rule in config.alerts:
        condition = conditions[rule.name]
        result = condition.evaluate(frames[condition.table])
        current = open_alerts.get(rule.name)
        if result.holds == (current is not None):
            continue  # still firing, or still quiet
        alert = Alert(
            alert_id=uuid.uuid4().hex,
            monitor=name,
            rule=rule.name,
            condition=condition.text,
            state="firing",
            message=result.message,
            value=result.value,
            window_start=result.window_start,  # type: ignore[arg-type]
            fired_at=now,
            resolved_at=None,
            environment=lake.environment,
        )
        if current is not None:  # the episode that fired ends
            alert = replace(
                alert,
                alert_id=str(current["alert_id"]),
                state="resolved",
                window_start=current["window_start"],  # type: ignore[arg-type]
                fired_at=current["fired_at"],  # type: ignore[arg-type]
                resolved_at=now,
            )
        try:
            outcomes = [
                run_action(alert, action, project)
                for action in rule.actions
                if alert.state == "firing" or action.retrain is None
            ]
        except RetrainFailedError as exc:
            # Not recorded as firing: the next pass fires it again and retries the retraining,
            # rather than leaving an episode that never retrains.
            failures.append(f"rule {rule.name!r} fired, but {exc}")
            continue
        changes.append(alert)
        records.append({**alert.__dict__, "actions": outcomes_json(outcomes)})
    if records:
        lake.merge(ALERTS.name, _frame(records), keys=list(ALERTS.keys))
    if failures:
        raise MonitoringError(
            f"monitor {name!r}: {'; '.join(failures)}. The alert is not recorded as firing, "
            f"so the next `lakestack monitor run {name}` fires it again and retries; fix the "
            "action's target (`lakestack validate` checks it)."
        )
    return changes


def _frame(records: list[dict[str, object]]) -> pl.DataFrame:
    import polars as pl

    return pl.DataFrame(records, schema=ALERTS.polars_schema())
