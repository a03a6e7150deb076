"""Monitoring and continuous training: metric tables per window, alert rules and actions.

A monitor (`monitors:` in `lakestack.yaml`) reads an inference table window by window and
merges profile, drift and quality metrics into `monitoring.<name>_*` Delta tables; alert rules
on those tables log, call webhooks, or trigger a retraining job through the scheduler. See
docs/monitoring.md.

Example:
    >>> from lakestack.monitoring import run_monitor
    >>> result = run_monitor(project, "flights", env="prod")  # doctest: +SKIP
    >>> [w.label() for w in result.windows]  # doctest: +SKIP
    ['2026-11-21 00:00']
"""

from __future__ import annotations

from lakestack.monitoring._actions import SINKS, Alert, AlertSink, register_sink, send_webhook
from lakestack.monitoring._alerts import evaluate_alerts, read_alerts
from lakestack.monitoring._dashboard import DRIFT_THRESHOLD, dashboard_tables, monitor_dashboard
from lakestack.monitoring._exporter import serve_metrics
from lakestack.monitoring._monitor import (
    MonitorResult,
    load_baseline,
    monitor_config,
    monitored_columns,
    run_monitor,
)
from lakestack.monitoring._quality import quality_metrics
from lakestack.monitoring._report import html_report, prometheus_metrics
from lakestack.monitoring._rules import METRICS, Condition, Evaluation, parse_condition
from lakestack.monitoring._tables import ALERTS_TABLE, metric_tables
from lakestack.monitoring._windows import Window, parse_window

__all__ = [
    "ALERTS_TABLE",
    "DRIFT_THRESHOLD",
    "METRICS",
    "SINKS",
    "Alert",
    "AlertSink",
    "Condition",
    "Evaluation",
    "MonitorResult",
    "Window",
    "dashboard_tables",
    "evaluate_alerts",
    "html_report",
    "load_baseline",
    "metric_tables",
    "monitor_config",
    "monitor_dashboard",
    "monitored_columns",
    "parse_condition",
    "parse_window",
    "prometheus_metrics",
    "quality_metrics",
    "read_alerts",
    "register_sink",
    "run_monitor",
    "send_webhook",
    "serve_metrics",
]
