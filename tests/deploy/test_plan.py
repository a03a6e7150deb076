"""`lakestack plan` after a deploy: every kind of thing it reports (jobs, schedules, models,
gates, endpoints, monitors) shows as added, changed with the settings that changed, or removed,
and a plan of what is deployed shows no change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from _git_kit import commit, new_repo, project_config

from lakestack.cli import main


def _plan(capsys: pytest.CaptureFixture[str], folder: Path, *extra: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(["plan", "--env", "staging", "-p", str(folder), *extra])
    return int(info.value.code or 0), capsys.readouterr().out


def test_a_plan_reports_what_is_added_changed_and_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "shop"
    models = {"m": {"problem": "binary", "gates": {"thresholds": ["roc_auc >= 0.7"]}}}
    endpoints = {"m": {"model": "m"}, "old": {"model": "m"}}
    new_repo(folder, models=models, endpoints=endpoints)
    with pytest.raises(SystemExit) as info:
        main(["deploy", "--env", "staging", "-p", str(folder)])
    assert info.value.code in (0, None)
    capsys.readouterr()
    code, out = _plan(capsys, folder, "--json")
    assert code == 0 and json.loads(out)["changes"] == []  # what is deployed: nothing to do
    code, out = _plan(capsys, folder, "--markdown")
    assert "No job, schedule, model, gate, endpoint or monitor changes." in out

    config = project_config(
        models={"m": {"problem": "binary", "gates": {"thresholds": ["roc_auc >= 0.8"]}}},
        endpoints={"m": {"model": "m"}},
        monitors={"m": {"table": "inference.m", "model": "m", "window": "1h"}},
    )
    config["jobs"]["hello"]["schedule"] = "0 4 * * *"  # type: ignore[index]
    (folder / "lakestack.yaml").write_text(yaml.safe_dump(config))
    commit(folder, "a stricter gate, one endpoint less, a monitor, the job an hour later")
    code, out = _plan(capsys, folder, "--json")
    changes = {
        (c["kind"], c["name"]): (c["action"], c["details"]) for c in json.loads(out)["changes"]
    }
    assert code == 0
    assert changes == {
        ("schedule", "hello"): ("changed", ["schedule: '0 3 * * *' -> '0 4 * * *'"]),
        ("gates", "m"): (
            "changed",
            [
                "thresholds.rules: [{'metric': 'roc_auc', 'op': '>=', 'value': 0.7}]"
                " -> [{'metric': 'roc_auc', 'op': '>=', 'value': 0.8}]"
            ],
        ),
        ("endpoint", "old"): ("removed", []),
        ("monitor", "m"): ("added", []),
    }
