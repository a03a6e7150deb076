"""`lakestack monitor run|report|metrics|alerts`: monitors of inference tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakestack.cli._common import Scope, command_group, console, plain, print_json, scoped

__all__ = ["register"]

monitor_app = command_group("Monitors: drift, quality and alerts per time window.")
NameArg = Annotated[str, typer.Argument(help="The monitor's name in lakestack.yaml.")]


@monitor_app.command("run")
@scoped()
def run(scope: Scope, name: NameArg) -> None:
    """Process the complete windows not processed yet, then evaluate the alert rules."""
    from lakestack.monitoring import run_monitor

    result = run_monitor(scope.project(), name, scope.env)
    if scope.json:
        print_json(result.to_dict())
        return
    if not result.windows:
        console.print(f"monitor {name}: no new complete window")
    else:
        console.print(
            f"monitor {name}: {len(result.windows)} window(s) "
            f"({result.windows[0].label()} .. {result.windows[-1].label()}), "
            f"{result.profile_rows} profile and {result.drift_rows} drift rows"
        )
    if result.quality_windows:
        console.print(f"quality updated for {len(result.quality_windows)} window(s)")
    for alert in result.alerts:
        console.print(plain(f"alert {alert.rule} {alert.state}: {alert.message}"), highlight=False)


@monitor_app.command("report")
@scoped(json=False)
def report(
    scope: Scope,
    name: NameArg,
    html: Annotated[Path, typer.Option("--html", help="Where to write the HTML page.")],
) -> None:
    """Write a self-contained HTML page of drift and quality over time."""
    from lakestack.monitoring import html_report, monitor_config

    loaded = scope.project()
    monitor_config(loaded, name)
    html_report(loaded, name, scope.lake(), html)
    console.print(f"wrote the report of monitor {name} to {html}")


@monitor_app.command("metrics")
@scoped(json=False)
def metrics(
    scope: Scope,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            help="Serve the gauges on http://HOST:PORT/metrics for Prometheus to scrape "
            "(read again at every scrape) instead of printing them once. 9108 is usual.",
            show_default=False,
        ),
    ] = None,
    host: Annotated[
        str, typer.Option("--host", help="The address to serve on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    auth: Annotated[
        str,
        typer.Option(
            "--auth",
            help="none, or token: scrapes need `Authorization: Bearer <token>` of a reader "
            "of the environment (docs/access.md).",
        ),
    ] = "none",
) -> None:
    """Print (or serve, with --port) every monitor's latest drift and quality as Prometheus text."""
    from lakestack.monitoring import prometheus_metrics
    from lakestack.monitoring._exporter import serve_metrics

    monitors = sorted(scope.project().config.monitors)
    lake = scope.lake()
    if port is None:
        print(prometheus_metrics(lake, monitors), end="")
        return
    if auth not in ("none", "token"):
        raise typer.BadParameter(f"--auth {auth!r}: write none or token")
    gate = None
    if auth == "token":
        from lakestack.access import TokenGate

        gate = TokenGate(scope.project(), lake.environment, "table.read")
    server = serve_metrics(lake, monitors, host=host, port=port, gate=gate)
    console.print(
        f"serving the gauges of {len(monitors)} monitor(s) ({lake.environment}) on "
        f"{server.url}; Ctrl-C stops",
        highlight=False,
    )
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


@monitor_app.command("alerts")
@scoped()
def alerts(scope: Scope, name: NameArg) -> None:
    """List a monitor's alerts, firing and resolved."""
    from rich.table import Table

    from lakestack.monitoring import monitor_config, read_alerts

    monitor_config(scope.project(), name)
    frame = read_alerts(scope.lake(), name)
    rows = [] if frame is None else frame.sort("fired_at", descending=True).to_dicts()
    if scope.json:
        print_json(rows)
        return
    table = Table("rule", "state", "fired at", "resolved at", "message")
    for row in rows:
        table.add_row(
            row["rule"],
            row["state"],
            f"{row['fired_at']:%Y-%m-%d %H:%M}",
            "" if row["resolved_at"] is None else f"{row['resolved_at']:%Y-%m-%d %H:%M}",
            plain(row["message"]),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
