"""A `retrain` action that cannot queue its job fails the monitor pass loudly, and retries."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from _monitor_kit import MakeProject, at, monitor, write_hours

from lakestack.errors import MonitoringError
from lakestack.lake import Lake
from lakestack.monitoring import read_alerts, run_monitor
from lakestack.pipelines import Scheduler


def test_a_retrain_that_queues_nothing_fails_the_pass_and_fires_again_once_fixed(
    make_project: MakeProject, tmp_path: Path
) -> None:
    rules = [
        {
            "name": "retrain_on_drift",
            "when": "drift.psi > 0.2 on any feature in the latest window",
            "actions": [{"log": "warning"}, {"retrain": "training"}],
        },
        {"name": "noted", "when": "profile.count > 0", "actions": [{"log": "info"}]},
    ]
    jobs = {"training": {"tasks": [{"name": "fit", "run": "monitor_tasks:retrain"}]}}
    project = make_project({"flights": monitor(alerts=rules)}, jobs)
    # The file was valid when loaded; the job is gone by the time the rule fires (a renamed
    # job in a deployed copy, say).
    stale = dataclasses.replace(project, config=project.config.model_copy(update={"jobs": {}}))
    lake = Lake.for_environment(project, "dev")
    write_hours(lake, [0], shift=2.0)
    with pytest.raises(MonitoringError) as info:
        run_monitor(stale, "flights", "dev", now=at(0))
    message = str(info.value)
    assert "rule 'retrain_on_drift' fired" in message and "'training'" in message
    assert "fires it again and retries" in message
    alerts = read_alerts(lake, "flights")
    assert alerts is not None and alerts["rule"].to_list() == ["noted"]  # the other rule's

    scheduler = Scheduler(project, "dev", background=False)
    result = run_monitor(project, "flights", "dev", now=at(0))
    assert [(a.rule, a.state) for a in result.alerts] == [("retrain_on_drift", "firing")]
    assert [launch.job for launch in scheduler.tick()] == ["training"]
