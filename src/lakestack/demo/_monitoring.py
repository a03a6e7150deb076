"""The demo's monitoring stage: the loop that retrains, on July to December 2013.

The production endpoint serves the January-to-June model. July to December are replayed as
traffic day by day (each flight with its features as of its scheduled departure, and its id,
departure time and origin as context columns); each flight's label arrives a day later in
`labels.flights_delay`. Once a week (in replayed time) the monitor processes the new daily
windows: drift against the production version's training statistics, quality once the labels
have joined. When a rule with a `retrain` action fires, the monitor queues the `retraining`
job through the trigger API and the scheduler runs it: a new version, its gates, and, if they
pass, production, which the endpoint follows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.table import Table

from lakestack.demo._show import console, gate_table
from lakestack.errors import PipelineError, ServingError

if TYPE_CHECKING:
    import httpx
    import polars as pl

    from lakestack.demo._endpoint import DemoEndpoint
    from lakestack.demo._main import Demo

__all__ = ["stage_monitoring"]

MONITOR = "flights_delay"
LABELS = "labels.flights_delay"
INFERENCE = "inference.flights_delay"
RETRAIN_JOB = "retraining"
START, END = date(2013, 7, 1), date(2014, 1, 1)
PASS_EVERY = 7  # days between monitor passes, in replayed time
ROWS_PER_REQUEST = 250
CONTEXT = ["flight_id", "sched_dep_ts", "origin"]


@dataclass
class _Timeline:
    """One line per monitor pass, for the table at the end."""

    rows: list[list[str]] = field(default_factory=list)
    retrains: list[dict[str, Any]] = field(default_factory=list)


def _traffic(demo: Demo) -> tuple[pl.DataFrame, list[str]]:
    """Every flight of July-December with its features as of its scheduled departure."""
    import polars as pl

    from lakestack.features import FeatureStore
    from lakestack.templates.flights.flights_ml import features, training

    labels = features.labels(demo.lake).filter(
        pl.col("sched_dep_ts") >= datetime(2013, 7, 1, tzinfo=UTC)
    )
    frame = features.training_set(FeatureStore(demo.lake), labels).to_polars()
    frame = frame.select(
        *training.FEATURES,
        *CONTEXT,
        pl.col(training.LABEL).alias("delayed"),
        day=pl.col("sched_dep_ts").dt.date(),
    ).with_columns(pl.col(training.FEATURES).cast(pl.Float64))
    return frame.sort("sched_dep_ts", "flight_id"), list(training.FEATURES)


def _send_day(
    client: httpx.Client, endpoint: DemoEndpoint, day: pl.DataFrame, inputs: list[str]
) -> int:
    """The day's flights as `dataframe_split` requests; the rows answered."""
    import orjson
    import polars as pl

    columns = [*inputs, *CONTEXT]
    body = day.select(
        *inputs,
        pl.col("flight_id").cast(pl.String),
        pl.col("sched_dep_ts").dt.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "origin",
    )
    answered = 0
    for start in range(0, body.height, ROWS_PER_REQUEST):
        chunk = body.slice(start, ROWS_PER_REQUEST)
        payload = {"dataframe_split": {"columns": columns, "data": chunk.rows()}}
        response = client.post(
            endpoint.url + "/invocations",
            content=orjson.dumps(payload),
            headers={"content-type": "application/json"},
        )
        if response.status_code != 200:
            raise ServingError(
                f"the endpoint {endpoint.name} answered {response.status_code} to a day of "
                f"flights: {response.text[:500]}; its log: {endpoint.log_file}"
            )
        answered += chunk.height
    return answered


def _june_labels(demo: Demo) -> pl.DataFrame:
    """The outcomes of June's flights."""
    import polars as pl

    from lakestack.templates.flights.flights_ml import features

    june = features.labels(demo.lake).filter(
        pl.col("sched_dep_ts") >= datetime(2013, 6, 1, tzinfo=UTC),
        pl.col("sched_dep_ts") < datetime(2013, 7, 1, tzinfo=UTC),
    )
    return _labels_of(june)


def _labels_of(day: pl.DataFrame) -> pl.DataFrame:
    import polars as pl

    return day.select(pl.col("flight_id").cast(pl.String), "sched_dep_ts", "delayed")


def _window_figures(demo: Demo, since: date) -> tuple[str, str]:
    """The largest baseline PSI (and its column) and the mean daily ROC AUC since `since`."""
    import polars as pl

    from lakestack.monitoring import metric_tables

    tables = metric_tables(MONITOR)
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC)
    drift = demo.lake.read_polars(tables["drift"]).filter(
        (pl.col("window_start") >= start) & (pl.col("reference") == "baseline")
    )
    worst = "-"
    if drift.height:
        top = drift.sort("psi", descending=True, nulls_last=True).row(0, named=True)
        worst = f"{top['psi']:.2f} ({top['column']})"
    auc = "-"
    if demo.lake.exists(tables["quality"]):
        quality = demo.lake.read_polars(tables["quality"]).filter(
            pl.col("window_start") >= start, pl.col("roc_auc").is_not_null()
        )
        if quality.height:
            mean = float(quality.get_column("roc_auc").cast(pl.Float64).to_numpy().mean())
            auc = f"{mean:.3f} ({quality.height} d)"
    return worst, auc


def _retrain(demo: Demo, endpoint: DemoEndpoint, reason: str) -> dict[str, Any]:
    """The scheduler runs the queued `retraining` run; the endpoint follows the alias."""
    from lakestack.pipelines import Scheduler
    from lakestack.registry import GateReport, ModelRegistry

    started = time.perf_counter()
    scheduler = Scheduler(demo.project, demo.lake.environment, background=False)
    launches = scheduler.tick()
    runs = [r for r in scheduler.results if r.run.job == RETRAIN_JOB]
    if not launches or not runs:
        raise PipelineError(
            f"the alerts {reason} queued the {RETRAIN_JOB} job, but the scheduler started no "
            f"run of it; see `lakestack scheduler --env {demo.lake.environment}`"
        )
    result = runs[-1]
    if not result.ok:
        failed = result.failed[0] if result.failed else None
        raise PipelineError(
            f"{RETRAIN_JOB} run {result.run_id} failed"
            + (f" in {failed.task}: {failed.error}" if failed else "")
        )
    promote = result.output("promote")
    window = result.output("prepare")
    registry = ModelRegistry(demo.project, demo.lake.environment)
    decided = [t for t in registry.history("flights_delay") if t.to_version == promote["version"]]
    if decided and decided[-1].gate_results:
        console.print(gate_table(GateReport.from_json(decided[-1].gate_results)))
    production = registry.alias_holder("flights_delay", "production")
    switched = None
    if promote["promoted"] and production is not None:
        switched = endpoint.wait_for_version(production.version)
    return {
        "run": result.run_id,
        "seconds": time.perf_counter() - started,
        "version": promote["version"],
        "promoted": promote["promoted"],
        "window": f"{window['train_start']} to {window['train_end']}, "
        f"holdout to {window['holdout_end']}",
        "switch_s": switched,
    }


def stage_monitoring(demo: Demo) -> None:
    """Monitoring: July-December replayed day by day, labels a day late, drift, alert, retrain."""
    import httpx

    from lakestack.monitoring import html_report, read_alerts, run_monitor

    endpoint: DemoEndpoint = demo.results["endpoint"]
    env = demo.lake.environment
    traffic, inputs = _traffic(demo)
    days = sorted(traffic["day"].unique().to_list())
    by_day = {d: part for (d,), part in traffic.group_by("day")}
    timeline = _Timeline()
    logged_before = demo.lake.info(INFERENCE).rows  # the serving stage's June traffic
    answered = 0
    since = START
    versions_seen: set[int] = set()
    retraining = _retraining_rules(demo)

    def monitor_pass(client: httpx.Client, now: datetime, first: date, days: str) -> None:
        """One monitor pass as of `now`, acted on and added to the timeline."""
        endpoint.wait_logged(demo.lake, logged_before + answered)
        result = run_monitor(demo.project, MONITOR, env, now=now, lake=demo.lake)
        worst, auc = _window_figures(demo, first)
        fired = [a for a in result.alerts if a.state == "firing"]
        resolved = [a for a in result.alerts if a.state == "resolved"]
        action = ""
        if any(a.rule in retraining for a in fired):
            bar.stop()
            retrain = _retrain(demo, endpoint, ", ".join(a.rule for a in fired))
            bar.start()
            timeline.retrains.append({"day": now.date() - timedelta(days=1), **retrain})
            action = f"retrained: v{retrain['version']} " + (
                "[green]promoted[/]" if retrain["promoted"] else "[red]refused[/]"
            )
        alerts = [f"[red]+{a.rule}[/]" for a in fired]
        alerts += [f"[green]-{a.rule}[/]" for a in resolved]
        version = f"v{endpoint.ready(client)['version']}"
        timeline.rows.append([days, worst, auc, " ".join(alerts), action, version])

    with httpx.Client(timeout=30.0) as client, demo.progress() as bar:
        # June's flights (the serving stage's traffic) have all landed: their labels are in
        demo.lake.append(LABELS, _june_labels(demo))
        june_end = datetime.combine(START, datetime.min.time(), tzinfo=UTC)
        monitor_pass(client, june_end, date(2013, 6, 1), "Jun 01-Jun 30")
        task = bar.add_task("replaying Jul-Dec 2013", total=len(days))
        for i, day in enumerate(days):
            answered += _send_day(client, endpoint, by_day[day], inputs)
            versions_seen.add(int(endpoint.ready(client)["version"]))
            if i > 0:  # yesterday's outcomes arrive today
                demo.lake.append(LABELS, _labels_of(by_day[days[i - 1]]))
            bar.advance(task)
            if (i + 1) % PASS_EVERY and i != len(days) - 1:
                continue
            now = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
            monitor_pass(client, now, since, f"{since:%b %d}-{day:%b %d}")
            since = day + timedelta(days=1)
    _print_timeline(timeline)
    report = demo.project.root / "monitor_report.html"
    html_report(demo.project, MONITOR, demo.lake, report)
    recorded = read_alerts(demo.lake, MONITOR)
    fired_total = 0 if recorded is None else recorded.height
    logged = (
        demo.lake.read_polars(INFERENCE, columns=["model_version"]).group_by("model_version").len()
    )
    console.print(
        f"{answered:,} flights scored in {len(days)} replayed days; the inference table holds "
        + ", ".join(f"{n:,} rows of v{v}" for v, n in sorted(logged.iter_rows()))
        + f"; {fired_total} alert record(s) in monitoring.alerts; the report: {report}"
    )
    demo.results["loop retrains"] = len(timeline.retrains)
    demo.results["loop versions"] = sorted(versions_seen)


def _retraining_rules(demo: Demo) -> set[str]:
    """The monitor's rules whose actions retrain."""
    from lakestack.monitoring import monitor_config

    rules = monitor_config(demo.project, MONITOR).alerts
    return {r.name for r in rules if any(a.retrain for a in r.actions)}


def _print_timeline(timeline: _Timeline) -> None:
    view = Table(
        title="the loop, week by week in replayed time (alerts: + fired, - resolved)",
        caption="max PSI: the largest daily PSI of a feature against the production version's "
        "training statistics; AUC: the mean daily ROC AUC of the days whose labels had arrived",
    )
    for column in ("days", "max PSI", "AUC", "alerts", "action", "serving"):
        view.add_column(column)
    for row in timeline.rows:
        view.add_row(*row)
    console.print(view)
    for r in timeline.retrains:
        console.print(
            f"{r['day']:%b %d}: run {r['run']} of {RETRAIN_JOB} ({r['window']}) took "
            f"{r['seconds']:.0f} s; version {r['version']} "
            + (
                f"passed its gates and took production; the endpoint switched in "
                f"{r['switch_s']:.1f} s"
                if r["promoted"]
                else "failed a gate: production is unchanged"
            )
        )
