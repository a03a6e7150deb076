"""The generated GitHub workflows, run step by step by a local stand-in for the git events:
a pull request deploys nothing, a merge to main deploys to staging and trains a staging model,
a release tag deploys to prod, a dirty tree is refused for prod, and a rollback restores the
previous prod deployment."""

from __future__ import annotations

from pathlib import Path

import pytest
from _actions_kit import Event, StepResult, run_workflow
from _data_kit import binary, write
from _git_kit import commit, git
from _venv_kit import FreshVenv

from lakestack.config import load_project
from lakestack.deploy import DeploymentLog
from lakestack.lake import Lake
from lakestack.pipelines import Records
from lakestack.registry import ModelRegistry


def _log(folder: Path, env: str) -> DeploymentLog:
    return DeploymentLog(Lake.for_environment(load_project(folder), env))


def _ok(results: list[StepResult]) -> list[str]:
    failed = [r for r in results if r.returncode != 0]
    assert not failed, (
        f"step {failed[0].name!r} failed:\n{failed[0].stdout[-4000:]}\n{failed[0].stderr[-4000:]}"
    )
    return [r.name for r in results]


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_pull_request_merge_release_dirty_tree_and_rollback(
    fresh_venv: FreshVenv, tmp_path: Path
) -> None:
    data = write(binary(3000), tmp_path / "data" / "customers.parquet")
    repo = tmp_path / "shop"
    fresh_venv.run("lakestack", "init", repo, "--data", data, "--label", "churned", cwd=tmp_path)
    workflows = repo / ".github" / "workflows"
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "first version")

    # a pull request: its branch changes the training; CI tests, validates and plans
    git(repo, "checkout", "-q", "-b", "more-rounds")
    text = (repo / "lakestack.yaml").read_text()
    (repo / "lakestack.yaml").write_text(text.replace("sample: 1000000", "sample: 500000"))
    pr_head = commit(repo, "train on at most 500000 rows")
    summary = tmp_path / "summary.md"
    pr = Event("pull_request", "refs/pull/1/merge", pr_head)
    names = _ok(run_workflow(workflows / "ci.yml", pr, venv=fresh_venv, repo=repo, summary=summary))
    assert names == [
        "Install", "Lint", "Unit tests",
        "Integration test (the training job in the test environment)",
        "Validate lakestack.yaml", "Plan staging and prod",
    ]  # fmt: skip
    plans = summary.read_text()
    assert "### lakestack plan: staging" in plans and "### lakestack plan: prod" in plans
    assert "| job | training | added |" in plans
    assert "is not on v* or release" in plans  # the PR's commit is no release
    assert _log(repo, "staging").all() == [] and _log(repo, "prod").all() == []

    # the merge to main: deployed to staging, trained there
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "more-rounds", "-m", "Merge pull request #1")
    merged = git(repo, "rev-parse", "HEAD")
    push = Event("push", "refs/heads/main", merged)
    _ok(
        run_workflow(
            workflows / "cd-staging.yml", push, venv=fresh_venv, repo=repo, summary=summary
        )
    )
    staging = _log(repo, "staging").current()
    assert staging is not None and staging.code_commit == merged
    assert "refs/heads/main" in staging.refs
    assert staging.resolved["jobs"]["training"]["tasks"][0]["params"]["sample"] == 500000
    project = load_project(repo)
    version = ModelRegistry(project, "staging").alias_holder("shop", "staging")
    assert version is not None, "the merge did not produce a validated staging model"
    runs = Records.for_environment(project, "staging").runs()
    assert {r.job for r in runs} == {"ingest", "training"}
    assert {r.trigger for r in runs} == {f"deploy {staging.deployment_id}"}
    assert _log(repo, "prod").all() == []

    # a release tag: deployed to prod at the tag
    git(repo, "tag", "v1.0.0")
    release = Event("push", "refs/tags/v1.0.0", merged)
    _ok(
        run_workflow(
            workflows / "cd-prod.yml", release, venv=fresh_venv, repo=repo, summary=summary
        )
    )
    first = _log(repo, "prod").current()
    assert first is not None and first.code_commit == merged and "refs/tags/v1.0.0" in first.refs
    assert "release v1.0.0" in first.reason

    # a dirty tree is refused for prod, and nothing is recorded
    readme = (repo / "README.md").read_text()
    (repo / "README.md").write_text(readme + "\nAn edit not committed.\n")
    refused = run_workflow(
        workflows / "cd-prod.yml", release, venv=fresh_venv, repo=repo, summary=summary
    )
    assert refused[-1].returncode == 1 and "uncommitted changes" in refused[-1].stderr
    assert len(_log(repo, "prod").all()) == 1
    (repo / "README.md").write_text(readme)

    # a second release, then a rollback to the first
    text = (repo / "lakestack.yaml").read_text()
    (repo / "lakestack.yaml").write_text(
        text.replace('schedule: "0 5 * * *"', 'schedule: "0 6 * * *"')
    )
    second = commit(repo, "score at six")
    git(repo, "tag", "v1.1.0")
    again = Event("push", "refs/tags/v1.1.0", second)
    _ok(run_workflow(workflows / "cd-prod.yml", again, venv=fresh_venv, repo=repo, summary=summary))
    current = _log(repo, "prod").current()
    assert current is not None and current.code_commit == second
    assert current.schedules["batch_inference"] == "0 6 * * *"
    done = fresh_venv.run("lakestack", "deploy", "--env", "prod", "--rollback", cwd=repo)
    assert f"rolled back {merged[:12]} to prod" in done.stdout
    restored = _log(repo, "prod").current()
    assert restored is not None and restored.action == "rollback"
    assert (restored.code_commit, restored.restores_id) == (merged, first.deployment_id)
    assert restored.schedules["batch_inference"] == "0 5 * * *"
