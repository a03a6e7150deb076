"""Observability of a monitor: a self-contained HTML page with the console's charts, and
Prometheus gauges."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from lakestack.metric_catalog import ALL_METRICS
from lakestack.monitoring._tables import metric_tables, read_or_none

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from lakestack.config import Project
    from lakestack.lake import Lake

__all__ = ["html_report", "monitor_registry", "prometheus_metrics"]


def html_report(project: Project, monitor: str, lake: Lake, path: str | Path | None = None) -> str:
    """A self-contained HTML page of a monitor, drawn with the console's charts.

    The page holds the charts' scripts and the data of `monitor_dashboard`: drift per window
    of the features that drift most (top first), quality per window with the alerts, the
    retraining runs and a band per model version that served, then the alerts as a table.
    It loads nothing from a network.

    Args:
        project: the project.
        monitor: the monitor's name.
        lake: the environment's lake.
        path: also write the page here.

    Returns:
        The page.

    Raises:
        MonitoringError: an unknown monitor.
    """
    from lakestack.charts import inline_scripts
    from lakestack.monitoring._dashboard import monitor_dashboard

    data = monitor_dashboard(project, monitor, lake)
    title = f"Monitor {monitor} ({lake.environment})"
    payload = orjson.dumps(data).decode().replace("</", "<\\/")
    page = _PAGE.format(
        title=html.escape(title),
        subtitle=html.escape(
            f"model {data['model']}, table {data['table']}, windows of {data['window']}"
        ),
        quality_table=_quality_table(data["quality"]),
        alerts_table=_alerts_table(data["alerts"]),
        scripts=inline_scripts(),
        data=payload,
    )
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>lakestack: {title}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#1e293b;max-width:1100px}}
.chart{{height:360px;margin:1em 0;border:1px solid #e2e8f0;border-radius:6px}}
.chart-empty{{display:flex;align-items:center;justify-content:center;color:#64748b;height:80px}}
table{{border-collapse:collapse;margin:.5em 0}}td,th{{padding:.25em .8em;border-bottom:1px solid #e2e8f0;text-align:left}}
.firing{{color:#dc2626}}.resolved{{color:#16a34a}}
</style></head><body>
<h1>{title}</h1><p>{subtitle}</p>
<h2>Drift</h2><div class="chart" id="drift"></div>
<h2>Quality</h2><div class="chart" id="quality"></div>
{quality_table}
<h2>Alerts</h2>
{alerts_table}
{scripts}
<script type="application/json" id="monitor-data">{data}</script>
<script>
var data = JSON.parse(document.getElementById("monitor-data").textContent);
LakestackCharts.drift(document.getElementById("drift"), data.drift);
LakestackCharts.quality(document.getElementById("quality"), data.quality);
</script>
</body></html>
"""


def _number(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.4g}"


def _quality_table(quality: dict[str, Any]) -> str:
    """The latest, lowest and highest value of each quality metric."""
    if not quality["metrics"]:
        return "<p>No quality metrics yet: they come when labels join the predictions.</p>"
    rows = []
    for name, values in quality["metrics"].items():
        seen = [v for v in values if v is not None]
        latest = seen[-1] if seen else None
        low, high = (min(seen), max(seen)) if seen else (None, None)
        rows.append(
            f'<tr><td class="metric">{html.escape(name)}</td><td>{_number(latest)}</td>'
            f"<td>{_number(low)}</td><td>{_number(high)}</td></tr>"
        )
    head = "<tr><th>metric</th><th>latest</th><th>lowest</th><th>highest</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _alerts_table(alerts: list[dict[str, Any]]) -> str:
    if not alerts:
        return "<p>No alert has fired.</p>"
    rows = [
        f"<tr><td>{html.escape(str(a['fired_at'])[:16])}</td><td>{html.escape(a['rule'])}</td>"
        f'<td class="{html.escape(a["state"])}">{html.escape(a["state"])}</td>'
        f"<td>{html.escape(a['message'])}</td></tr>"
        for a in reversed(alerts)
    ]
    head = "<tr><th>fired</th><th>rule</th><th>state</th><th>message</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def prometheus_metrics(lake: Lake, monitors: list[str]) -> str:
    """Prometheus exposition text of the latest window's drift and quality of each monitor.

    Gauges: `lakestack_monitor_drift_psi{monitor,column,reference}`,
    `lakestack_monitor_drift_jensen_shannon{...}`, `lakestack_monitor_quality{monitor,metric}`,
    `lakestack_monitor_latest_window_timestamp_seconds{monitor}`. `serve_metrics` serves the
    same gauges over HTTP for Prometheus to scrape.
    """
    from prometheus_client import generate_latest

    return generate_latest(monitor_registry(lake, monitors)).decode()


def monitor_registry(lake: Lake, monitors: list[str]) -> CollectorRegistry:
    """A registry holding the gauges of `prometheus_metrics`, read from the lake now."""
    import polars as pl
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry()
    labels = ["monitor", "column", "reference"]
    psi = Gauge(
        "lakestack_monitor_drift_psi", "PSI of the latest window.", labels, registry=registry
    )
    js = Gauge(
        "lakestack_monitor_drift_jensen_shannon",
        "Jensen-Shannon distance of the latest window.",
        labels,
        registry=registry,
    )
    quality_gauge = Gauge(
        "lakestack_monitor_quality",
        "Model quality of the latest window with labels.",
        ["monitor", "metric"],
        registry=registry,
    )
    latest = Gauge(
        "lakestack_monitor_latest_window_timestamp_seconds",
        "Start of the latest processed window.",
        ["monitor"],
        registry=registry,
    )
    for monitor in monitors:
        tables = metric_tables(monitor)
        drift = read_or_none(lake, tables["drift"])
        if drift is not None and not drift.is_empty():
            last = drift.filter(pl.col("window_start") == drift["window_start"].max())
            latest.labels(monitor).set(drift["window_start"].max().timestamp())  # type: ignore[union-attr]
            for row in last.iter_rows(named=True):
                key = (monitor, row["column"], row["reference"])
                psi.labels(*key).set(row["psi"])
                js.labels(*key).set(row["jensen_shannon"])
        quality = read_or_none(lake, tables["quality"])
        if quality is not None and not quality.is_empty():
            labeled = quality.filter(pl.col("labeled_rows") > 0)
            if not labeled.is_empty():
                row = labeled.sort("window_start").row(-1, named=True)
                for metric in ALL_METRICS:
                    if row.get(metric) is not None:
                        quality_gauge.labels(monitor, metric).set(row[metric])
    return registry
