"""What the console's monitor page and `lakestack monitor report` draw: one dictionary.

`monitor_dashboard` reads a monitor's metric tables and gathers, per window, the drift of the
features that drift most (top first, the steadier ones counted but hidden), each quality
metric, the monitor's alerts, the retraining runs its `retrain` actions queued, and which model
version served when (from the inference table). The charts of `lakestack.charts` draw it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from lakestack.metric_catalog import ALL_METRICS
from lakestack.monitoring._alerts import read_alerts
from lakestack.monitoring._monitor import monitor_config
from lakestack.monitoring._tables import metric_tables, read_or_none
from lakestack.monitoring._windows import parse_window
from lakestack.system_tables import ALERTS

if TYPE_CHECKING:
    import polars as pl

    from lakestack.config import MonitorConfig, Project
    from lakestack.lake import Lake

__all__ = ["DRIFT_THRESHOLD", "dashboard_tables", "monitor_dashboard"]

DRIFT_THRESHOLD = 0.2
"""The PSI above which a feature is drawn as drifting (the usual rule of thumb)."""


def monitor_dashboard(
    project: Project, monitor: str, lake: Lake, *, top: int = 10
) -> dict[str, Any]:
    """The data of a monitor's charts: drift, quality, alerts, retrainings, served versions.

    Args:
        project: the project (for the monitor's table and its retrain actions).
        monitor: the monitor's name.
        lake: the environment's lake.
        top: how many features the drift chart shows (those with the highest PSI first).

    Returns:
        `{"monitor", "environment", "drift": {windows, features, threshold, hidden},
        "quality": {windows, metrics, alerts, retrainings, versions}, "alerts": [...],
        "windows": n}`; times are ISO 8601 strings in UTC.

    Raises:
        MonitoringError: an unknown monitor.
    """
    config = monitor_config(project, monitor)
    tables = metric_tables(monitor)
    alerts = _alerts(lake, monitor)
    quality = _quality(read_or_none(lake, tables["quality"]))
    quality["alerts"] = [
        {"at": a["window_start"] or a["fired_at"], "rule": a["rule"], "message": a["message"]}
        for a in alerts
    ]
    quality["retrainings"] = _retrainings(project, config, lake, alerts)
    quality["versions"] = _versions(lake, config)
    drift = _drift(read_or_none(lake, tables["drift"]), top)
    return {
        "monitor": monitor,
        "environment": lake.environment,
        "model": config.model,
        "table": config.table,
        "window": config.window,
        "drift": drift,
        "quality": quality,
        "alerts": alerts,
    }


def dashboard_tables(project: Project, monitor: str) -> list[str]:
    """The tables `monitor_dashboard` reads for the monitor: its answer changes only with them.

    Raises:
        MonitoringError: an unknown monitor.
    """
    from lakestack.pipelines import RUNS_TABLE

    config = monitor_config(project, monitor)
    tables = metric_tables(monitor)
    runs = [RUNS_TABLE] if _retrain_jobs(project, config) else []
    return [ALERTS.name, tables["quality"], tables["drift"], config.table, *runs]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _drift(frame: pl.DataFrame | None, top: int) -> dict[str, Any]:
    import polars as pl

    out: dict[str, Any] = {"windows": [], "features": [], "threshold": DRIFT_THRESHOLD, "hidden": 0}
    if frame is None or frame.is_empty():
        return out
    part = frame.filter(pl.col("reference") == "baseline").select("window_start", "column", "psi")
    windows = sorted(part["window_start"].unique().to_list())
    index = {w: i for i, w in enumerate(windows)}
    ranked = (
        part.group_by("column")
        .agg(pl.col("psi").max().alias("max"), pl.col("psi").sort_by("window_start").last())
        .sort(["max", "column"], descending=[True, False], nulls_last=True)
    )
    shown = ranked.head(top)["column"].to_list()
    features = []
    for column in shown:
        psi: list[float | None] = [None] * len(windows)
        for row in part.filter(pl.col("column") == column).iter_rows(named=True):
            value = row["psi"]
            psi[index[row["window_start"]]] = None if value is None else float(value)
        seen = [v for v in psi if v is not None]
        features.append({"column": column, "psi": psi, "max": max(seen) if seen else None})
    out.update(
        windows=[_iso(w) for w in windows], features=features, hidden=ranked.height - len(shown)
    )
    return out


def _quality(frame: pl.DataFrame | None) -> dict[str, Any]:
    if frame is None or frame.is_empty():
        return {"windows": [], "metrics": {}}
    frame = frame.sort("window_start")
    metrics = {
        name: [None if v is None else float(v) for v in frame[name].to_list()]
        for name in ALL_METRICS
        if name in frame.columns
    }
    return {"windows": [_iso(w) for w in frame["window_start"].to_list()], "metrics": metrics}


def _alerts(lake: Lake, monitor: str) -> list[dict[str, Any]]:
    frame = read_alerts(lake, monitor)
    if frame is None:
        return []
    rows = frame.sort("fired_at").to_dicts()
    for row in rows:
        for key in ("window_start", "fired_at", "resolved_at"):
            row[key] = _iso(row.get(key))
    return rows


def _retrain_jobs(project: Project, config: MonitorConfig) -> set[str]:
    """The jobs the monitor's `retrain` actions queue (a job's name or an event's jobs)."""
    named = {a.retrain for rule in config.alerts for a in rule.actions if a.retrain}
    jobs = project.config.jobs
    out = {name for name in named if name in jobs}
    for name, job in jobs.items():
        if any(t.on_event in named for t in job.triggers if t.on_event):
            out.add(name)
    return out


def _retrainings(
    project: Project, config: MonitorConfig, lake: Lake, alerts: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The runs of the jobs the monitor's retrain actions queue, placed on the windows' axis.

    A run queued by an alert of this monitor is drawn at the end of the window that fired it
    (windows may be replayed history, far from the clock the run started by); any other run
    of those jobs at its start.
    """
    from lakestack.pipelines import Records

    jobs = _retrain_jobs(project, config)
    if not jobs:
        return []
    length = parse_window(config.window)
    records = Records.for_environment(project, lake.environment)
    runs = sorted(
        (run for job in sorted(jobs) for run in records.runs(job=job)), key=lambda r: r.started_at
    )
    out = []
    for run in runs:
        at = run.started_at
        queued_by = [
            a
            for a in alerts
            if f"alert {a['monitor']}/{a['rule']}" in run.trigger
            and a["window_start"] is not None
            and datetime.fromisoformat(a["fired_at"]) <= run.started_at
        ]
        if queued_by:
            at = datetime.fromisoformat(queued_by[-1]["window_start"]) + length
        out.append(
            {
                "at": _iso(at),
                "started_at": _iso(run.started_at),
                "run_id": run.run_id,
                "job": run.job,
                "status": run.status,
                "trigger": run.trigger,
            }
        )
    return out


def _versions(lake: Lake, config: MonitorConfig) -> list[dict[str, Any]]:
    """Each model version's first and last prediction in the monitored table, in order."""
    import polars as pl

    if not lake.exists(config.table):
        return []
    column = config.time_column
    names = lake.schema(config.table).names
    if "model_version" not in names:
        return []
    variant = "variant" in names
    wanted = [column, "model_version"] + (["variant"] if variant else [])
    frame = lake.read_polars(config.table, columns=wanted)
    if variant:  # the version `production` served, not a canary beside it
        frame = frame.filter(pl.col("variant").is_null() | (pl.col("variant") == "production"))
    spans = (
        frame.select(column, "model_version")
        .drop_nulls()
        .group_by("model_version")
        .agg(pl.col(column).min().alias("start"), pl.col(column).max().alias("end"))
        .sort("start")
    )
    return [
        {"version": int(row["model_version"]), "start": _iso(row["start"]), "end": _iso(row["end"])}
        for row in spans.iter_rows(named=True)
    ]
