"""`lakestack models ...` as a user types it: tables, JSON and exit codes."""

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


def test_models_commands(sqlite_kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    kit = sqlite_kit
    kit.configure({"thresholds": ["roc_auc >= 0.7"]})
    kit.log(kit.train(), metrics={"roc_auc": 0.81})
    kit.log(kit.train("noise"))
    m = kit.model

    code, out, _ = run(capsys, kit, "list", "--json")
    assert code == 0 and json.loads(out)[0]["latest_version"] == 2
    code, out, _ = run(capsys, kit, "versions", m, "--json")
    assert [v["version"] for v in json.loads(out)] == [2, 1]
    code, out, _ = run(capsys, kit, "show", m, "1")
    assert code == 0 and "gold.holdout@0" in out and "roc_auc=0.8100" in out
    assert "binary (classes 0, 1)" in out

    code, out, _ = run(
        capsys, kit, "promote", m, "1", "--to", "production", "--holdout", "gold.holdout@0"
    )
    assert code == 0 and "PASS" in out and "promoted" in out
    code, out, _ = run(capsys, kit, "promote", m, "2", "--to", "production")
    assert code == 1 and "FAIL" in out and "threshold roc_auc >= 0.7" in out
    assert "value=0." in out and "stays at 1" in out
    code, out, _ = run(capsys, kit, "promote", m, "2", "--to", "production", "--json")
    assert code == 1 and json.loads(out)["applied"] is False
    code, out, err = run(capsys, kit, "promote", m, "2", "--to", "production", "--force")
    assert code == 1 and "needs a reason" in err
    code, out, _ = run(
        capsys, kit, "promote", m, "2", "--to", "production", "--force", "--reason", "demo"
    )
    assert code == 0 and "(forced)" in out

    code, out, _ = run(capsys, kit, "list")
    assert code == 0 and m in out
    # each version lists the aliases it holds, in the table and in JSON
    code, out, _ = run(capsys, kit, "versions", m, "--json")
    assert [(v["version"], v["aliases"]) for v in json.loads(out)] == [(2, ["production"]), (1, [])]
    code, out, _ = run(capsys, kit, "rollback", m, "--reason", "oops")
    assert code == 0 and "is now version 1 (was 2)" in out
    code, out, _ = run(capsys, kit, "history", m, "--json")
    rows = json.loads(out)
    assert [(r["outcome"], r["to_version"]) for r in rows] == [
        ("applied", 1),
        ("refused", 2),
        ("refused", 2),
        ("applied", 2),
        ("applied", 1),
    ]
    assert rows[3]["forced"] and rows[3]["reason"] == "demo"
    code, out, _ = run(capsys, kit, "history", m)
    assert code == 0 and "rollback" in out and "oops" in out

    code, _, err = run(capsys, kit, "reproduce", m, "1")
    assert code == 1 and "trained outside git" in err
    code, _, err = run(capsys, kit, "show", "nope")
    assert code == 1 and "no registered model 'nope'" in err

    run(capsys, kit, "promote", m, "1", "--to", "staging")
    code, out, _ = run(capsys, kit, "versions", m)
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}
    assert code == 0 and "staging, production" in rows["1"] and "production" not in rows["2"]
