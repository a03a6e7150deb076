"""Aliases as stages: promote, force, rollback, the transitions table, concurrency, copies."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from _registry_kit import Kit

from lakestack.errors import GateFailedError, RegistryError
from lakestack.lake import Lake
from lakestack.registry import TRANSITIONS_TABLE, GateReport, ModelRegistry

PROMOTER = Path(__file__).with_name("_promoter_process.py")


def test_promotions_are_recorded_with_who_when_why_and_the_gates(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKESTACK_PRINCIPAL", "alice")
    reg = kit.configure({"thresholds": ["roc_auc >= 0.7"]})
    first = kit.log(kit.train())
    before = datetime.now(UTC)
    promotion = reg.promote(kit.model, first.version, to="staging", reason="first model")
    assert promotion.applied and promotion.previous_version is None
    assert reg.alias_holder(kit.model, "staging").version == 1  # type: ignore[union-attr]
    second = kit.log(kit.train(seed=2))
    reg.promote(kit.model, second.version, to="staging", reason="retrained")
    again = reg.promote(kit.model, second.version, to="staging")
    assert not again.applied and again.transition is None  # already holds it: nothing recorded

    history = reg.history(kit.model)
    assert [(t.stage, t.from_version, t.to_version) for t in history] == [
        ("staging", None, 1),
        ("staging", 1, 2),
    ]
    last = history[-1]
    assert last.principal == "alice" and last.reason == "retrained" and not last.forced
    assert before - timedelta(seconds=1) < last.ts < datetime.now(UTC) + timedelta(seconds=1)
    report = last.gate_report()
    assert isinstance(report, GateReport) and report.passed
    assert report.results[0].numbers["metric"] == "roc_auc"
    rows = reg.lake.read(TRANSITIONS_TABLE).to_pylist()
    assert {r["model"] for r in rows} == {kit.model} and json.loads(rows[0]["gate_results"])
    assert reg.version(kit.model, 2).tags["lakestack.gates.staging"] == "passed"


def test_force_overrides_failed_gates_and_needs_a_reason(kit: Kit) -> None:
    reg = kit.configure({"thresholds": ["roc_auc >= 0.99"]})
    info = kit.log(kit.train())
    with pytest.raises(RegistryError, match="needs a reason"):
        reg.promote(kit.model, info.version, to="production", force=True)
    with pytest.raises(GateFailedError):
        reg.promote(kit.model, info.version, to="production")
    forced = reg.promote(
        kit.model, info.version, to="production", force=True, reason="hotfix INC-7"
    )
    assert forced.applied and forced.forced and not forced.report.passed
    last = reg.history(kit.model)[-1]
    assert (last.outcome, last.forced, last.reason) == ("applied", True, "hotfix INC-7")
    assert not last.gate_report().passed  # type: ignore[union-attr]
    assert reg.version(kit.model, info.version).tags["lakestack.gates.production"] == "forced"


def test_rollback_walks_back_the_recorded_holders(kit: Kit) -> None:
    reg = kit.registry
    for seed in range(3):
        info = kit.log(kit.train(seed=seed))
        reg.promote(kit.model, info.version, to="production", reason=f"release {seed}")
    assert reg.alias_holder(kit.model, "production").version == 3  # type: ignore[union-attr]
    back = reg.rollback(kit.model, reason="bad latency")
    assert (back.action, back.from_version, back.to_version) == ("rollback", 3, 2)
    assert reg.alias_holder(kit.model, "production").version == 2  # type: ignore[union-attr]
    reg.rollback(kit.model)
    assert reg.alias_holder(kit.model, "production").version == 1  # type: ignore[union-attr]
    with pytest.raises(RegistryError, match="no previous holder"):
        reg.rollback(kit.model)
    with pytest.raises(RegistryError, match="has no staging alias"):
        reg.rollback(kit.model, stage="staging")
    actions = [(t.action, t.from_version, t.to_version) for t in reg.history(kit.model)]
    assert actions[-2:] == [("rollback", 3, 2), ("rollback", 2, 1)]


def test_two_processes_promoting_at_once_leave_a_consistent_alias_and_history(
    kit: Kit, tmp_path: Path
) -> None:
    reg = kit.registry
    for seed in range(4):
        kit.log(kit.train(seed=seed))
    start = tmp_path / "start"
    procs = [
        subprocess.Popen(
            [sys.executable, str(PROMOTER), str(kit.root), kit.model, str(start), *versions],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for versions in (["1", "3"], ["2", "4"])
    ]
    start.touch()
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    history = [t for t in reg.history(kit.model) if t.stage == "production"]
    assert len(history) == 4 and all(t.applied for t in history)
    assert sorted(t.to_version for t in history) == [1, 2, 3, 4]  # type: ignore[type-var]
    assert history[0].from_version is None
    for before, after in itertools.pairwise(history):
        assert after.from_version == before.to_version  # each saw the one before it
    assert reg.alias_holder(kit.model, "production").version == history[-1].to_version  # type: ignore[union-attr]


def test_promoting_to_the_next_environment_copies_the_version_with_its_lineage(
    kit: Kit,
) -> None:
    reg = kit.configure({"thresholds": ["roc_auc >= 0.7"]})
    reg.lake.append("silver.train", {"a": [1]})
    info = kit.log(kit.train(), training_tables={"silver.train": 0}, metrics={"roc_auc": 0.8})
    reg.promote(kit.model, info.version, to="staging")
    promotion = reg.promote(kit.model, info.version, to="production", to_env="prod")
    assert promotion.environment == "prod" and promotion.applied
    prod = ModelRegistry(kit.project, "prod")
    copied = prod.version(kit.model, "production")
    assert copied.training_tables == {"silver.train": 0}
    assert copied.holdout == info.holdout  # the dev holdout, read through prod's grant
    assert json.loads(copied.tags["lakestack.copied_from"]) == {
        "environment": "dev",
        "model": kit.model,
        "version": info.version,
    }
    assert prod.client.get_run(copied.run_id).data.metrics["roc_auc"] == 0.8
    assert [(t.action, t.to_version) for t in prod.history(kit.model)] == [
        ("copy", copied.version),
        ("promote", copied.version),
    ]
    assert reg.alias_holder(kit.model, "production") is None  # dev is unchanged
    assert Lake.for_environment(kit.project, "prod").exists(TRANSITIONS_TABLE)
