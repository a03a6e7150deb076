"""The gates of a generated project block by default: a version that fails a gate fails the
training job, which names the gate, and no alias moves; `--param dry_run=true` runs the same
gates, reports them, says it was a dry run and moves nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _data_kit import binary, write

from lakestack.cli import main
from lakestack.config import load_project
from lakestack.deploy import init_project
from lakestack.pipelines import Records
from lakestack.registry import ModelRegistry


def _run(capsys: pytest.CaptureFixture[str], folder: Path, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(["run", *args, "-p", str(folder), "-e", "dev"])
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out + err


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_a_failed_gate_fails_the_training_job_and_a_dry_run_only_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write(binary(1500), tmp_path / "data" / "customers.parquet")
    folder = init_project(tmp_path / "churn", data=str(data), label="churned", ci="none").folder
    project_file = folder / "lakestack.yaml"
    text, count = re.subn(
        r"thresholds: \[[^\]]*\]", 'thresholds: ["roc_auc >= 0.9999"]', project_file.read_text()
    )
    assert count == 1
    project_file.write_text(text)
    assert _run(capsys, folder, "ingest")[0] == 0

    code, out = _run(capsys, folder, "training")
    registry = ModelRegistry(load_project(folder), "dev")
    assert code == 1, out
    assert "failed 1 gate(s) for staging" in out and "churn@staging did not move" in out
    assert registry.alias_holder("churn", "staging") is None
    assert [t.outcome for t in registry.history("churn") if t.action == "promote"] == ["refused"]

    code, out = _run(capsys, folder, "training", "--param", "dry_run=true")
    assert code == 0, out
    assert registry.alias_holder("churn", "staging") is None
    records = Records.for_environment(load_project(folder), "dev")
    latest = max(records.runs(), key=lambda r: r.started_at)
    validate = records.final_task_runs(latest.run_id)["validate"]
    assert validate.output == {
        "version": 2, "stage": "staging", "promoted": False, "dry_run": True, "passed": False,
    }  # fmt: skip
