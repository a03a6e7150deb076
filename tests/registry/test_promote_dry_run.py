"""`lakestack models promote --dry-run`: the gates run and are reported, nothing moves, and the
output says it was a dry run; without it a failed gate blocks (exit 1)."""

from __future__ import annotations

import json

import pytest
from _registry_kit import Kit

from lakestack.cli import main


def run(capsys: pytest.CaptureFixture[str], kit: Kit, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["models", *args, "-p", str(kit.root), "-e", "dev"])
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_a_dry_run_reports_the_gates_and_moves_nothing(
    sqlite_kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    kit = sqlite_kit
    kit.configure({"thresholds": ["roc_auc >= 0.7"]})
    kit.log(kit.train("noise"))
    m = kit.model
    code, out, _ = run(capsys, kit, "promote", m, "1", "--to", "staging", "--dry-run")
    assert code == 0 and "FAIL" in out and "threshold roc_auc >= 0.7" in out
    assert "dry run" in out and "1 gate(s) fail" in out and "did not move" in out
    code, out, _ = run(capsys, kit, "promote", m, "1", "--to", "staging", "--dry-run", "--json")
    report = json.loads(out)
    assert code == 0 and report["dry_run"] is True and report["passed"] is False
    assert kit.registry.alias_holder(m, "staging") is None
    assert kit.registry.history(m) == []  # a dry run records no transition
    code, out, _ = run(capsys, kit, "promote", m, "1", "--to", "staging")
    assert code == 1 and "refused" in out  # the gates block by default
