"""Feature publishes, monitor runs and alert actions check the principal's role too."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from _kit.access import write_access_project
from lakestack.access import acting_as, read_audit
from lakestack.config import AlertActionConfig, Project
from lakestack.errors import AccessDeniedError
from lakestack.features import FeatureStore
from lakestack.monitoring import Alert, run_monitor
from lakestack.monitoring._actions import RetrainFailedError, run_action

JOBS = {"training": {"tasks": [{"name": "fit", "run": "nowhere.tasks:fit"}]}}
MONITORS = {"flights": {"table": "inference.flights", "model": "delay"}}


@pytest.fixture
def wired(tmp_path: Path) -> Project:
    return write_access_project(tmp_path / "aproj", jobs=JOBS, monitors=MONITORS)


def test_publishing_features_needs_a_developer(wired: Project) -> None:
    with acting_as("dev1"):
        store = FeatureStore(wired, "dev")
        store.create_feature_table(
            "features.planes", primary_keys=["tailnum"], data={"tailnum": ["N1"], "seats": [180]}
        )
        assert store.publish("features.planes").keys_written == 1
    with acting_as("mallory"), pytest.raises(AccessDeniedError, match="publish features online"):
        FeatureStore(wired, "dev").publish("features.planes")
    records = read_audit(wired.environment("dev"), action="feature.publish")
    assert [(r.principal, r.outcome) for r in records] == [
        ("mallory", "denied"),
        ("dev1", "allowed"),
    ]


def test_running_a_monitor_in_prod_needs_a_deployer(wired: Project) -> None:
    with acting_as("dev1"), pytest.raises(AccessDeniedError, match="dev1 may not run monitors"):
        run_monitor(wired, "flights", env="prod")
    (record,) = read_audit(wired.environment("prod"), action="monitor.run")
    assert (record.object, record.outcome, record.role) == ("flights", "denied", "reader")


def test_alert_actions_are_checked_and_a_refused_retrain_is_never_silent(wired: Project) -> None:
    alert = Alert(
        alert_id="a1",
        monitor="flights",
        rule="drift",
        condition="drift.psi > 0.2 on any feature",
        state="firing",
        message="psi 0.4 on dep_delay",
        value=0.4,
        window_start=None,
        fired_at=datetime.now(UTC),
        resolved_at=None,
        environment="dev",
    )
    with acting_as("mallory"):
        outcome = run_action(alert, AlertActionConfig(log="warning"), wired)
        with pytest.raises(RetrainFailedError, match="refused"):
            run_action(alert, AlertActionConfig(retrain="training"), wired)
    assert outcome.startswith("log refused: mallory may not run alert actions")
    with acting_as("dev1"):
        assert run_action(alert, AlertActionConfig(retrain="training"), wired) == (
            "retrain: queued training"
        )
    records = read_audit(wired.environment("dev"))
    assert [(r.principal, r.action, r.outcome) for r in reversed(records)] == [
        ("mallory", "alert.action", "denied"),
        ("mallory", "alert.action", "denied"),
        ("dev1", "alert.action", "allowed"),
        ("dev1", "job.trigger", "allowed"),
    ]
