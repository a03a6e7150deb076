"""The monitors' Prometheus scrape target, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from _monitor_kit import MakeProject, at, monitor, write_hours
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from _kit import ServerProcess, free_port
from lakestack.cli import main
from lakestack.cli._app import app
from lakestack.errors import MonitoringError
from lakestack.lake import Lake
from lakestack.monitoring import prometheus_metrics, run_monitor
from lakestack.monitoring._exporter import serve_metrics


def _latest_window(text: str) -> float:
    for family in text_string_to_metric_families(text):
        if family.name == "lakestack_monitor_latest_window_timestamp_seconds":
            return float(family.samples[0].value)
    raise AssertionError(f"no latest window in {text}")


def test_each_scrape_reads_the_latest_window(make_project: MakeProject) -> None:
    project = make_project({"flights": monitor()})
    lake = Lake.for_environment(project, "dev")
    write_hours(lake, [0, 1])
    run_monitor(project, "flights", "dev", now=at(1))
    with serve_metrics(lake, ["flights"], port=free_port()) as server:
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        first = httpx.get(server.url, timeout=10)
        assert first.status_code == 200 and first.text == prometheus_metrics(lake, ["flights"])
        assert first.headers["content-type"].startswith("text/plain")
        assert _latest_window(first.text) == at(1).replace(minute=0).timestamp() - 3600
        write_hours(lake, [2], shift=2.0)
        run_monitor(project, "flights", "dev", now=at(2))
        second = httpx.get(server.url, timeout=10).text  # no restart
        assert _latest_window(second) == _latest_window(first.text) + 3600
        assert 'lakestack_monitor_drift_psi{column="x",monitor="flights",reference="baseline"}' in (
            second
        )
    with pytest.raises(httpx.HTTPError):
        httpx.get(server.url, timeout=2)


def test_a_taken_port_is_a_monitoring_error(
    make_project: MakeProject, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project({"flights": monitor()})
    lake = Lake.for_environment(project, "dev")
    with serve_metrics(lake, ["flights"], port=0) as server:
        assert server.port > 0
        with pytest.raises(MonitoringError, match=rf"127.0.0.1:{server.port}.*--port"):
            serve_metrics(lake, ["flights"], port=server.port)
        args = ["monitor", "metrics", "-p", str(project.root), "-e", "dev"]
        with pytest.raises(SystemExit) as info:
            main([*args, "--port", str(server.port)])
        assert info.value.code == 1 and "choose another --port" in capsys.readouterr().err


def test_the_cli_serves_a_scrape_target(make_project: MakeProject, tmp_path: Path) -> None:
    project = make_project({"flights": monitor()})
    lake = Lake.for_environment(project, "dev")
    write_hours(lake, [0])
    run_monitor(project, "flights", "dev", now=at(0))
    args = ["--project", str(project.root), "--env", "dev"]
    printed = CliRunner().invoke(app, ["monitor", "metrics", *args])  # no --port: print once
    assert printed.exit_code == 0 and printed.output == prometheus_metrics(lake, ["flights"])
    port = free_port()
    cmd = [sys.executable, "-m", "lakestack", "monitor", "metrics", *args, "--port", str(port)]
    exporter = ServerProcess(cmd, port, tmp_path / "exporter.log", ready_path="/metrics")
    with exporter.start(timeout=120):
        response = httpx.get(f"{exporter.url}/metrics", timeout=2)
        assert response.status_code == 200
        assert _latest_window(response.text) == at(0).replace(minute=0).timestamp() - 3600
        assert f"on http://127.0.0.1:{port}/metrics" in exporter.log_text()
