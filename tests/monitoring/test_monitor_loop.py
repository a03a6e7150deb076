"""The loop: a firing retrain rule queues the training job; the scheduler runs it. And the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

from _monitor_kit import MakeProject, at, monitor, write_hours
from typer.testing import CliRunner

from lakestack.cli._app import app
from lakestack.lake import Lake
from lakestack.monitoring import (
    html_report,
    monitor_dashboard,
    prometheus_metrics,
    read_alerts,
    run_monitor,
)
from lakestack.pipelines import Scheduler


def test_a_firing_retrain_rule_runs_the_training_job(
    make_project: MakeProject, tmp_path: Path
) -> None:
    marker = tmp_path / "retrained.txt"
    rule = {
        "name": "retrain_on_drift",
        "when": "drift.psi > 0.2 on any feature in the latest window",
        "actions": [{"retrain": "training"}],
    }
    jobs = {
        "training": {
            "tasks": [
                {"name": "fit", "run": "monitor_tasks:retrain", "params": {"marker": str(marker)}}
            ]
        }
    }
    project = make_project({"flights": monitor(alerts=[rule])}, jobs)
    lake = Lake.for_environment(project, "dev")
    scheduler = Scheduler(project, "dev", background=False)
    assert scheduler.tick() == []
    write_hours(lake, [0], shift=2.0)
    result = run_monitor(project, "flights", "dev", now=at(0))
    assert [a.state for a in result.alerts] == ["firing"]
    alerts = read_alerts(lake, "flights")
    assert alerts is not None and "retrain: queued training" in alerts["actions"][0]
    launches = scheduler.tick()
    assert [x.job for x in launches] == ["training"]
    assert "alert flights/retrain_on_drift" in launches[0].reason
    assert all(r.ok for r in scheduler.results)
    assert marker.read_text() == "ran"
    write_hours(lake, [1], shift=2.0)
    assert run_monitor(project, "flights", "dev", now=at(1)).alerts == ()  # still firing
    assert scheduler.tick() == []  # not triggered again


def test_report_metrics_and_cli(make_project: MakeProject, tmp_path: Path) -> None:
    project = make_project({"flights": monitor()})
    lake = Lake.for_environment(project, "dev")
    write_hours(lake, [0, 1])
    write_hours(lake, [2], shift=2.0)
    runner = CliRunner()
    args = ["--project", str(project.root), "--env", "dev"]
    out = runner.invoke(app, ["monitor", "run", "flights", *args, "--json"])
    assert out.exit_code == 0, out.output
    assert len(json.loads(out.output)["windows"]) >= 3
    again = runner.invoke(app, ["monitor", "run", "flights", *args])
    assert again.exit_code == 0 and "no new complete window" in again.output
    page = tmp_path / "out.html"
    out = runner.invoke(app, ["monitor", "report", "flights", "--html", str(page), *args])
    assert out.exit_code == 0, out.output
    text = page.read_text()
    assert html_report(project, "flights", lake) == text
    drawn = json.loads(text.split('id="monitor-data">')[1].split("</script>")[0])
    assert drawn == json.loads(json.dumps(monitor_dashboard(project, "flights", lake)))
    assert [f["column"] for f in drawn["drift"]["features"]] == ["x", "c"]  # top drift first
    assert len(drawn["drift"]["windows"]) == 3 and "LakestackCharts.drift" in text
    assert re.search(r"<(script|link|img)[^>]*\s(src|href)=", text) is None  # all inside
    metrics = prometheus_metrics(lake, ["flights"])
    assert (
        'lakestack_monitor_drift_psi{column="x",monitor="flights",reference="baseline"}' in metrics
    )
    out = runner.invoke(app, ["monitor", "metrics", *args])
    assert out.exit_code == 0 and "lakestack_monitor_drift_psi" in out.output
    out = runner.invoke(app, ["monitor", "alerts", "flights", *args, "--json"])
    assert out.exit_code == 0 and json.loads(out.output) == []
