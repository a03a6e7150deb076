"""`lakestack deploy`, `plan` and `deployments list|show` as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from _git_kit import commit, git, mark, new_repo, project_config

from lakestack.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_plan_deploy_list_show_and_rollback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "shop"
    first = new_repo(folder)
    p = ("-p", str(folder))
    code, out, _ = run(capsys, "plan", "--env", "staging", "--json", *p)
    plan = json.loads(out)
    assert code == 0 and plan["current"] is None and plan["commit"] == first
    assert [(c["kind"], c["action"]) for c in plan["changes"]] == [
        ("job", "added"), ("schedule", "added"),
    ]  # fmt: skip
    assert plan["refusals"] == []
    code, out, _ = run(capsys, "deploy", "--env", "staging", "--run", "hello", *p)
    assert code == 0 and f"deployed {first[:12]} to staging" in out and "succeeded" in out
    assert mark(folder, "staging") == "A:one"
    # a change of the task's params and a new monitor-less endpoint in the working folder
    config = project_config(word="two")
    config["models"] = {"m": {"problem": "binary", "gates": {"thresholds": ["roc_auc >= 0.7"]}}}
    config["endpoints"] = {"m": {"model": "m"}}
    (folder / "lakestack.yaml").write_text(yaml.safe_dump(config))
    code, out, _ = run(capsys, "plan", "--env", "staging", "--markdown", *p)
    assert code == 0 and out.startswith("### lakestack plan: staging")
    assert "| job | hello | changed | tasks[mark].params.word: 'one' -> 'two' |" in out
    assert "| gates | m | added |" in out and "| endpoint | m | added |" in out
    assert "uncommitted changes" in out  # the dirty tree would be refused
    second = commit(folder, "word two, a model and its endpoint")
    code, out, _ = run(capsys, "plan", "--env", "prod", *p)
    assert code == 0 and "a deploy would be refused" in out and "not on v* or release" in out
    code, _, err = run(capsys, "deploy", "--env", "prod", *p)
    assert code == 1 and "refused" in err and "Traceback" not in err
    git(folder, "tag", "v2")
    assert run(capsys, "deploy", "--env", "staging", "--json", *p)[0] == 0
    code, out, _ = run(capsys, "deployments", "list", "--env", "staging", "--json", *p)
    listed = json.loads(out)
    assert [d["code_commit"] for d in listed] == [second, first]  # newest first
    assert (
        listed[0]["endpoints"] == ["m"] and listed[0]["previous_id"] == listed[1]["deployment_id"]
    )
    code, out, _ = run(
        capsys, "deployments", "show", listed[1]["deployment_id"], *p, "-e", "staging"
    )
    assert code == 0 and "lakestack.yaml as deployed" in out and "word: one" in out
    code, out, _ = run(
        capsys, "deploy", "--env", "staging", "--rollback", "--reason", "bad", "--run", "hello", *p
    )
    assert code == 0 and f"rolled back {first[:12]} to staging" in out
    assert mark(folder, "staging") == "A:one"
    code, out, _ = run(capsys, "deployments", "show", "--json", "-e", "staging", *p)
    shown = json.loads(out)
    assert (shown["action"], shown["code_commit"], shown["reason"]) == ("rollback", first, "bad")
    assert "word: one" in shown["project_file"] and shown["resolved"]["endpoints"] == {}
    code, _, err = run(capsys, "deployments", "show", "-e", "prod", *p)
    assert code == 1 and "nothing is deployed to prod yet" in err
