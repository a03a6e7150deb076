"""`deploy`: code versions recorded per environment, the environments' rules, rollbacks, and
the scheduler running the deployed commit."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
import yaml
from _git_kit import commit, git, mark, new_repo, write_code

from _kit.loops import looping, wait_until
from lakestack.config import load_project
from lakestack.deploy import (
    DeployedScheduler,
    DeploymentLog,
    deploy,
    deployed_project,
    mask_uri,
    snapshot,
)
from lakestack.errors import AccessDeniedError, DeployError, DeployRefusedError, PipelineError
from lakestack.lake import Lake
from lakestack.pipelines import Records, Scheduler, trigger


def _log(folder: Path, env: str) -> DeploymentLog:
    return DeploymentLog(Lake.for_environment(load_project(folder), env))


def test_a_deploy_records_the_commit_the_committed_file_and_what_is_active(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "shop"
    first = new_repo(folder)
    result = deploy(load_project(folder), "staging", reason="first release")
    d = _log(folder, "staging").current()
    assert d is not None and d == result.deployment
    assert (d.code_commit, d.code_dirty, d.action, d.reason) == (
        first,
        False,
        "deploy",
        "first release",
    )
    assert d.refs == ["refs/heads/main"]
    assert d.project_file == git(folder, "show", f"{first}:lakestack.yaml")
    assert (d.jobs, d.schedules, d.endpoints, d.monitors) == (
        ["hello"], {"hello": "0 3 * * *"}, [], [],
    )  # fmt: skip
    assert d.resolved["jobs"]["hello"]["tasks"][0]["params"] == {"word": "one"}
    # the checkout is the commit, sharing the project's state folder
    root = result.project.root
    assert (
        git(root, "rev-parse", "HEAD") == first
        and git(root, "status", "--porcelain", "--untracked-files=no") == ""
    )
    assert (root / ".lakestack").resolve() == (folder / ".lakestack").resolve()
    assert result.project.environment("staging").lake_root == str(
        folder.resolve() / ".lakestack" / "staging" / "lake"
    )
    assert [(c.kind, c.name, c.action) for c in result.changes] == [
        ("job", "hello", "added"), ("schedule", "hello", "added"),
    ]  # fmt: skip
    assert _log(folder, "prod").current() is None  # environments have their own records


def test_prod_refuses_a_dirty_tree_and_a_commit_off_its_release_refs(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    new_repo(folder)
    with pytest.raises(DeployRefusedError, match=r"not on v\* or release \(deploy.prod.refs\)"):
        deploy(load_project(folder), "prod")
    git(folder, "tag", "v1.0.0")
    (folder / "shop_tasks.py").write_text((folder / "shop_tasks.py").read_text() + "\n# edit\n")
    with pytest.raises(DeployRefusedError, match="uncommitted changes"):
        deploy(load_project(folder), "prod")
    assert _log(folder, "prod").all() == []  # nothing recorded by a refusal
    git(folder, "checkout", "--", "shop_tasks.py")
    tagged = deploy(load_project(folder), "prod").deployment
    assert tagged.refs == ["refs/tags/v1.0.0"]


def test_a_dirty_tree_deploys_where_the_rules_allow_it_and_is_recorded_so(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    first = new_repo(folder, deploy={"dev": {"clean": False}})
    (folder / "notes.txt").write_text("untracked files never count\n")
    assert deploy(load_project(folder), "dev").deployment.code_dirty is False
    (folder / "shop_tasks.py").write_text("# work in progress\n")
    d = deploy(load_project(folder), "dev").deployment
    assert (d.code_commit, d.code_dirty, d.short_commit) == (first, True, first[:12] + "+dirty")


def test_rollback_walks_back_one_deployment_at_a_time(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    commits = [new_repo(folder, "A")]
    for code in ("B", "C"):
        write_code(folder, code)
        commits.append(commit(folder, f"code {code}"))
    project = load_project(folder)
    for c in commits:
        deploy(project, "staging", ref=c)
    back = deploy(project, "staging", rollback=True, reason="C is broken").deployment
    assert (back.action, back.code_commit, back.reason) == ("rollback", commits[1], "C is broken")
    history = _log(folder, "staging").all()
    assert back.restores_id == history[1].deployment_id
    assert back.previous_id == history[2].deployment_id
    assert deploy(project, "staging", rollback=True).deployment.code_commit == commits[0]
    with pytest.raises(DeployError, match="no earlier deployment to roll back to"):
        deploy(project, "staging", rollback=True)
    # a new deploy after rollbacks starts a new chain back to what was current before it
    deploy(project, "staging", ref=commits[2])
    assert deploy(project, "staging", rollback=True).deployment.code_commit == commits[0]


def test_the_scheduler_runs_the_deployed_commit_not_the_working_folder(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    deployed = new_repo(folder, "A")
    deploy(load_project(folder), "staging")
    # the working folder moves on: new code committed, more changes not even committed
    write_code(folder, "B", word="two")
    commit(folder, "code B")
    (folder / "shop_tasks.py").write_text((folder / "shop_tasks.py").read_text() + "\n# wip\n")
    project = load_project(folder)
    switched: list[str | None] = []
    scheduler = DeployedScheduler(
        project,
        "staging",
        background=False,
        on_deployment=lambda d: switched.append(None if d is None else d.code_commit),
    )
    trigger(project, "hello", "test", env="staging")
    launches = scheduler.tick()
    assert [launch.job for launch in launches] == ["hello"]
    assert mark(folder, "staging") == "A:one"
    run = Records.for_environment(project, "staging").run(launches[0].run_id)
    assert (run.code_commit, run.code_dirty, run.status) == (deployed, False, "succeeded")
    # a deploy switches the running scheduler to the new code at its next tick
    git(folder, "checkout", "--", "shop_tasks.py")
    newer = deploy(project, "staging").deployment.code_commit
    trigger(project, "hello", "test", env="staging")
    scheduler.tick()
    assert mark(folder, "staging") == "B:two"
    assert switched == [deployed, newer]
    assert [r.status for r in scheduler.results] == ["succeeded", "succeeded"]


def test_the_deployed_scheduler_loop_runs_triggers_and_holds_the_environment_lock(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "shop"
    new_repo(folder, "A")
    deploy(load_project(folder), "staging")
    project = load_project(folder)
    scheduler = DeployedScheduler(project, "staging")
    with looping(scheduler.run_forever):
        trigger(project, "hello", "test", env="staging")
        wait_until(lambda: scheduler.results)
        # one scheduler per environment, deployed or not
        with pytest.raises(PipelineError, match="a scheduler of 'staging' is already running"):
            Scheduler(project, "staging").run_forever(0.05, threading.Event())
    assert [r.status for r in scheduler.results] == ["succeeded"]
    assert mark(folder, "staging") == "A:one"
    later = threading.Event()
    later.set()  # the lock was released: a new loop starts, and ends at once
    Scheduler(project, "staging").run_forever(0.05, later)


def test_deploy_runs_jobs_from_the_deployed_code_and_a_removed_checkout_comes_back(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "shop"
    new_repo(folder, "A")
    write_code(folder, "B")  # not committed, and dev may deploy a dirty tree
    yaml_text = yaml.safe_load((folder / "lakestack.yaml").read_text())
    yaml_text["deploy"]["dev"] = {"clean": False}
    (folder / "lakestack.yaml").write_text(yaml.safe_dump(yaml_text))
    with pytest.raises(DeployRefusedError, match="uncommitted"):  # the rules are the commit's
        deploy(load_project(folder), "dev", run=["hello"])
    git(folder, "checkout", "--", ".")
    result = deploy(load_project(folder), "dev", run=["hello"])
    assert [r.status for r in result.runs] == ["succeeded"]
    assert result.runs[0].run.trigger == f"deploy {result.deployment.deployment_id}"
    assert mark(folder, "dev") == "A:one"
    shutil.rmtree(result.project.root)
    git(folder, "worktree", "prune")
    again = deployed_project(load_project(folder), "dev")
    assert again is not None and (again.root / "shop_tasks.py").read_text().count('"A"') == 1
    with pytest.raises(DeployError, match="no job 'nope' to run; its jobs: hello"):
        deploy(load_project(folder), "dev", run=["nope"])


def test_a_commit_with_an_invalid_project_file_is_not_deployed(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    new_repo(folder)
    good = (folder / "lakestack.yaml").read_text()
    (folder / "lakestack.yaml").write_text(good.replace("schedule:", "schedul:"))
    bad = commit(folder, "typo")
    (folder / "lakestack.yaml").write_text(good)  # fixed in the working folder only
    with pytest.raises(DeployError, match=rf"lakestack.yaml of commit {bad[:12]} is not valid"):
        deploy(load_project(folder), "staging", ref=bad)
    assert _log(folder, "staging").all() == []


def test_deploy_outside_git_says_how_to_start(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    write_code(folder)
    with pytest.raises(DeployError, match="git init"):
        deploy(load_project(folder), "dev")
    git(folder, "init", "-q")
    with pytest.raises(DeployError, match="no commit yet"):
        deploy(load_project(folder), "dev")


def test_a_project_in_a_subfolder_of_the_repository_deploys(tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write_code(repo / "ml" / "shop", "A")
    head = commit(repo, "a project in a subfolder")
    (repo / "ml" / "shop" / "data").mkdir()
    (repo / "ml" / "shop" / ".gitignore").write_text(".lakestack/\ndata/\n")
    commit(repo, "ignore data")
    result = deploy(load_project(repo / "ml" / "shop"), "staging", ref=head, run=["hello"])
    assert result.project.root.parts[-2:] == ("ml", "shop")
    assert (result.project.root / "data").resolve() == (repo / "ml" / "shop" / "data").resolve()
    assert mark(repo / "ml" / "shop", "staging") == "A:one"


def test_the_snapshot_hides_passwords_and_fills_defaults(tmp_path: Path) -> None:
    assert (
        mask_uri("postgresql+psycopg://ml:s3cret@db:5432/ml")
        == "postgresql+psycopg://ml:***@db:5432/ml"
    )
    assert mask_uri("redis://:pw@cache:6379/0") == "redis://:***@cache:6379/0"
    assert mask_uri("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    folder = tmp_path / "shop"
    write_code(folder, deploy={})
    text = (folder / "lakestack.yaml").read_text() + (
        "environments:\n  dev:\n    lake: lake\n"
        "    tracking: postgresql+psycopg://ml:hunter2@db/ml\n"
        "    online_store: redis://:hunter2@cache:6379/0\n"
    )
    (folder / "lakestack.yaml").write_text(text)
    snap = snapshot(load_project(folder), "dev")
    assert "hunter2" not in json.dumps(snap)
    assert snap["jobs"]["hello"]["tasks"][0]["retries"] == 0  # defaults are part of it


def test_only_a_deployer_deploys_and_the_attempts_are_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lakestack.access import read_audit

    folder = tmp_path / "shop"
    principals = {
        "bob": {"roles": {"*": "developer"}},
        "ci": {"kind": "service", "roles": {"*": "deployer"}},
    }
    new_repo(folder, access={"principals": principals})
    monkeypatch.setenv("LAKESTACK_PRINCIPAL", "bob")
    with pytest.raises(AccessDeniedError, match=r"bob may not deploy code .* in staging"):
        deploy(load_project(folder), "staging")
    assert _log(folder, "staging").all() == []
    monkeypatch.setenv("LAKESTACK_PRINCIPAL", "ci")
    d = deploy(load_project(folder), "staging").deployment
    assert d.principal == "ci"
    audit = read_audit(load_project(folder).environment("staging"), action="deploy")
    assert [(r.principal, r.outcome) for r in audit] == [("ci", "allowed"), ("bob", "denied")]


def test_a_scheduler_host_fetches_a_commit_deployed_from_another_clone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"  # staging's storage, seen by both clones
    staging = {
        "staging": {
            "lake": str(shared / "lake"),
            "tracking": f"sqlite:///{shared / 'mlflow.db'}",
            "online_store": f"sqlite:///{shared / 'online.db'}",
        }
    }
    origin = tmp_path / "origin"
    new_repo(origin, "A", environments=staging, deploy={})
    host = tmp_path / "host"
    git(tmp_path, "clone", "-q", str(origin), str(host))
    write_code(origin, "B", environments=staging, deploy={})
    deployed = commit(origin, "code B, deployed from the CI's clone")
    deploy(load_project(origin), "staging")
    project = load_project(host)  # the host's clone has not fetched B
    trigger(project, "hello", "test", env="staging")
    scheduler = DeployedScheduler(project, "staging", background=False)
    assert [launch.job for launch in scheduler.tick()] == ["hello"]
    assert mark(host, "staging") == "B:one"
    assert git(host, "cat-file", "-t", deployed) == "commit"
    # a deployed commit that no remote has any more cannot be checked out, and says why
    write_code(origin, "C", environments=staging, deploy={})
    orphan = commit(origin, "code C, deployed, then dropped from the history")
    deploy(load_project(origin), "staging")
    git(origin, "reset", "-q", "--hard", "HEAD~1")
    git(origin, "reflog", "expire", "--expire=now", "--all")
    git(origin, "gc", "-q", "--prune=now")
    with pytest.raises(DeployError, match=rf"deployed commit {orphan[:12]} is not in the repo"):
        deployed_project(load_project(host), "staging")
