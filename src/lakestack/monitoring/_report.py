"""Observability of a monitor: a self-contained HTML page with inline SVG, Prometheus gauges."""

from __future__ import annotations

import html
import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from lakestack.metric_catalog import ALL_METRICS
from lakestack.monitoring._tables import metric_tables, read_or_none

if TYPE_CHECKING:
    import polars as pl
    from prometheus_client import CollectorRegistry

    from lakestack.lake import Lake

__all__ = ["html_report", "monitor_registry", "prometheus_metrics"]

_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _svg(
    title: str, series: dict[str, list[tuple[datetime, float]]], threshold: float | None
) -> str:
    width, height, pad = 720, 240, 40
    points = [p for values in series.values() for p in values if not math.isnan(p[1])]
    if not points:
        return f"<h3>{html.escape(title)}</h3><p>no data yet</p>"
    xs = [p[0].timestamp() for p in points]
    ys = [p[1] for p in points] + ([threshold] if threshold is not None else [])
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(0.0, min(ys)), max(ys) if max(ys) > min(0.0, min(ys)) else 1.0

    def sx(t: float) -> float:
        return pad + (t - x0) / (x1 - x0) * (width - 2 * pad)

    def sy(v: float) -> float:
        return height - pad - (v - y0) / (y1 - y0) * (height - 2 * pad)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{html.escape(title)}">',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#999"/>',
        f'<text x="4" y="{pad}" font-size="10">{y1:.3g}</text>',
        f'<text x="4" y="{height - pad}" font-size="10">{y0:.3g}</text>',
        f'<text x="{pad}" y="{height - 8}" font-size="10">{datetime.fromtimestamp(x0):%Y-%m-%d %H:%M}</text>',
        f'<text x="{width - pad - 90}" y="{height - 8}" font-size="10">'
        f"{datetime.fromtimestamp(x1):%Y-%m-%d %H:%M}</text>",
    ]
    if threshold is not None:
        y = sy(threshold)
        parts.append(
            f'<line x1="{pad}" y1="{y:.1f}" x2="{width - pad}" y2="{y:.1f}" stroke="red" '
            'stroke-dasharray="4 3"/>'
        )
    for i, (name, values) in enumerate(sorted(series.items())):
        color = _COLORS[i % len(_COLORS)]
        coords = " ".join(
            f"{sx(t.timestamp()):.1f},{sy(v):.1f}" for t, v in values if not math.isnan(v)
        )
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{coords}"/>'
        )
        parts.append(
            f'<text x="{width - pad + 2}" y="{pad + 12 * i}" font-size="10" fill="{color}">'
            f"{html.escape(name)}</text>"
        )
    parts.append("</svg>")
    return f"<h3>{html.escape(title)}</h3>" + "".join(parts)


def _series(
    frame: pl.DataFrame, key: str | None, metric: str
) -> dict[str, list[tuple[datetime, float]]]:
    out: dict[str, list[tuple[datetime, float]]] = {}
    for row in frame.sort("window_start").iter_rows(named=True):
        value = row.get(metric)
        name = str(row[key]) if key else metric
        out.setdefault(name, []).append(
            (row["window_start"], float("nan") if value is None else float(value))
        )
    return out


def html_report(lake: Lake, monitor: str, path: str | Path | None = None) -> str:
    """A self-contained HTML page of a monitor's drift and quality over time (inline SVG).

    Args:
        lake: the environment's lake.
        monitor: the monitor's name.
        path: also write the page here.

    Returns:
        The page.
    """
    import polars as pl

    tables = metric_tables(monitor)
    drift = read_or_none(lake, tables["drift"])
    quality = read_or_none(lake, tables["quality"])
    sections = [f"<h1>Monitor {html.escape(monitor)} ({html.escape(lake.environment)})</h1>"]
    if drift is not None and not drift.is_empty():
        for reference in ("baseline", "previous"):
            part = drift.filter(pl.col("reference") == reference)
            if not part.is_empty():
                sections.append(
                    _svg(f"PSI per feature vs {reference}", _series(part, "column", "psi"), 0.2)
                )
    else:
        sections.append("<p>No drift metrics yet: run <code>lakestack monitor run</code>.</p>")
    if quality is not None and not quality.is_empty():
        for metric in ALL_METRICS:
            if metric in quality.columns:
                sections.append(_svg(f"quality: {metric}", _series(quality, None, metric), None))
    body = "\n".join(sections)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>lakestack monitor {html.escape(monitor)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}svg{border:1px solid #eee}</style>"
        f"</head><body>{body}</body></html>"
    )
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


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
