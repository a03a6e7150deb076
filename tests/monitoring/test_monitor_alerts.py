"""Alert rules: the grammar, firing once, resolving, and the log and webhook actions."""

from __future__ import annotations

import http.server
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from _monitor_kit import TABLE, MakeProject, at, labels_for, monitor, write_hours

from lakestack.errors import ConfigError, MonitoringError
from lakestack.lake import Lake
from lakestack.monitoring import parse_condition, read_alerts, run_monitor, send_webhook

DRIFT_RULE = "drift.psi > 0.2 on any feature in 2 of the last 3 windows"


class _Hook(http.server.BaseHTTPRequestHandler):
    server: _HookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.attempts += 1
        if self.server.hang.is_set() is False and self.server.hanging:
            self.server.hang.wait(10)
        if self.server.attempts <= self.server.fail_first:
            self.send_response(503)
            self.end_headers()
            return
        self.server.bodies.append(orjson.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HookServer(http.server.ThreadingHTTPServer):
    def __init__(self, fail_first: int = 0, hanging: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Hook)
        self.fail_first, self.hanging = fail_first, hanging
        self.attempts = 0
        self.bodies: list[dict[str, Any]] = []
        self.hang = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


def _serve(server: _HookServer) -> Iterator[_HookServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.hang.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def flaky_hook() -> Iterator[_HookServer]:
    """Answers 503 twice, then 200."""
    yield from _serve(_HookServer(fail_first=2))


@pytest.fixture
def hanging_hook() -> Iterator[_HookServer]:
    """Never answers (until the test ends)."""
    yield from _serve(_HookServer(hanging=True))


def test_webhook_retries_with_backoff_then_delivers(flaky_hook: _HookServer) -> None:
    outcome = send_webhook(flaky_hook.url, b'{"a": 1}', timeout_s=2, retries=3, backoff_s=0.05)
    assert outcome == "webhook: 200 after 3 attempt(s)"
    assert flaky_hook.attempts == 3 and flaky_hook.bodies == [{"a": 1}]
    flaky_hook.attempts, flaky_hook.fail_first = 0, 10
    outcome = send_webhook(flaky_hook.url, b"{}", timeout_s=2, retries=1, backoff_s=0.01)
    assert outcome == "webhook failed after 2 attempt(s): HTTP 503"


def test_webhook_times_out_against_a_hanging_server(hanging_hook: _HookServer) -> None:
    start = time.monotonic()
    outcome = send_webhook(hanging_hook.url, b"{}", timeout_s=0.3, retries=1, backoff_s=0.05)
    assert outcome.startswith("webhook failed after 2 attempt(s)")
    assert "timed out" in outcome
    assert time.monotonic() - start < 5


def test_drift_rule_fires_once_then_resolves(
    make_project: MakeProject, flaky_hook: _HookServer, caplog: pytest.LogCaptureFixture
) -> None:
    actions = [{"log": "warning"}, {"webhook": flaky_hook.url, "retries": 3, "backoff_s": 0.01}]
    project = make_project(
        {"flights": monitor(alerts=[{"name": "drift", "when": DRIFT_RULE, "actions": actions}])}
    )
    lake = Lake.for_environment(project, "dev")
    write_hours(lake, [0, 1, 2])
    write_hours(lake, [3], shift=2.0)
    assert run_monitor(project, "flights", "dev", now=at(3)).alerts == ()  # 1 of the last 3
    write_hours(lake, [4], shift=2.0)
    with caplog.at_level(logging.WARNING, logger="lakestack.monitoring"):
        fired = run_monitor(project, "flights", "dev", now=at(4)).alerts
    assert [(a.rule, a.state) for a in fired] == [("drift", "firing")]
    assert "2 of the last 3 window(s)" in fired[0].message
    assert "alert firing flights/drift" in caplog.text
    assert [b["state"] for b in flaky_hook.bodies] == ["firing"]
    write_hours(lake, [5], shift=2.0)
    assert run_monitor(project, "flights", "dev", now=at(5)).alerts == ()  # still firing: no resend
    assert len(flaky_hook.bodies) == 1
    write_hours(lake, [6, 7, 8])
    resolved = run_monitor(project, "flights", "dev", now=at(8)).alerts
    assert [(a.rule, a.state, a.alert_id) for a in resolved] == [
        ("drift", "resolved", fired[0].alert_id)
    ]
    assert [b["state"] for b in flaky_hook.bodies] == ["firing", "resolved"]
    alerts = read_alerts(lake, "flights")
    assert alerts is not None and alerts.height == 1
    row = alerts.row(0, named=True)
    assert row["state"] == "resolved" and row["resolved_at"] is not None
    assert "webhook: 200" in row["actions"]


@pytest.mark.parametrize(
    ("when", "fires_at", "clears_at"),
    [
        ("quality.roc_auc < 0.68 in the latest window", 1, 2),
        ("quality.accuracy <= 0.7", 1, 2),
        ("drift.psi > 0.2 on x vs previous in the latest window", 1, 2),
        ("profile.mean < 1 on feature x", 0, 1),
        ("profile.null_fraction > 0.5 on any column", None, None),
    ],
)
def test_each_rule_shape_fires_and_resolves(
    make_project: MakeProject, when: str, fires_at: int | None, clears_at: int | None
) -> None:
    labels = {"table": "labels.flights"}
    rule = {"name": "r", "when": when, "actions": [{"log": "info"}]}
    project = make_project({"flights": monitor(labels=labels, alerts=[rule])})
    lake = Lake.for_environment(project, "dev")
    states: dict[int, list[str]] = {}
    for hour, shift, flip in [(0, 0.0, 0.0), (1, 2.0, 0.5), (2, 2.0, 0.0)]:
        write_hours(lake, [hour], shift=shift)
        rows = lake.read_polars(TABLE).filter(
            lake.read_polars(TABLE)["request_id"].str.starts_with(f"h{hour}-")
        )
        lake.append("labels.flights", labels_for(rows, flip=flip, seed=hour))
        states[hour] = [
            a.state for a in run_monitor(project, "flights", "dev", now=at(hour)).alerts
        ]
    expected = {h: [] for h in states}
    if fires_at is not None:
        expected[fires_at] = ["firing"]
    if clears_at is not None:
        expected[clears_at] = ["resolved"]
    assert states == expected


@pytest.mark.parametrize(
    ("when", "error"),
    [
        ("drift.psi >> 0.2", "cannot parse"),
        ("drifts.psi > 0.2", "unknown table 'drifts'"),
        ("quality.auc < 0.7", "quality has no metric 'auc'"),
        ("quality.accuracy < 0.7 on x", "quality metrics have no column"),
        ("profile.mean > 1 vs previous", "applies to drift metrics only"),
        ("drift.psi > 0.2 in 4 of the last 3 windows", "needs 1 <= 4 <= 3"),
    ],
)
def test_bad_rules_are_named_in_the_error(when: str, error: str) -> None:
    with pytest.raises(MonitoringError, match=f"alert rule 'my_rule'.*{error}"):
        parse_condition(when, "my_rule")


def test_a_bad_rule_is_refused_with_its_key_and_name_before_anything_runs(
    make_project: MakeProject,
) -> None:
    rule = {"name": "typo", "when": "drift.psi > > 1"}
    with pytest.raises(
        ConfigError, match=r"monitors\.flights\.alerts\[0\]\.when: alert rule 'typo'"
    ):
        make_project({"flights": monitor(alerts=[rule])})


def test_windows_without_labels_do_not_resolve_a_quality_alert(make_project: MakeProject) -> None:
    rule = {"name": "auc", "when": "quality.roc_auc < 0.68", "actions": [{"log": "info"}]}
    project = make_project({"flights": monitor(labels={"table": "labels.flights"}, alerts=[rule])})
    lake = Lake.for_environment(project, "dev")
    write_hours(lake, [0])
    lake.append("labels.flights", labels_for(lake.read_polars(TABLE), flip=0.5))
    assert [a.state for a in run_monitor(project, "flights", "dev", now=at(0)).alerts] == ["firing"]
    write_hours(lake, [1])  # its labels are late
    assert run_monitor(project, "flights", "dev", now=at(1)).alerts == ()
