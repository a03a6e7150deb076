"""The CI service principal deploys code to staging, and to prod only once an admin grants it
the deployer role there; every attempt is in that environment's audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from _git_kit import git, new_repo

from lakestack.access import acting_as, grant_role, read_audit
from lakestack.config import load_project
from lakestack.deploy import DeploymentLog, deploy
from lakestack.errors import AccessDeniedError
from lakestack.lake import Lake


def test_ci_deploys_to_staging_and_to_prod_only_once_granted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAKESTACK_TOKEN", raising=False)
    folder = tmp_path / "shop"
    principals = {
        "alice": {"roles": {"*": "admin"}},
        "ci": {"kind": "service", "roles": {"staging": "deployer", "prod": "developer"}},
    }
    commit = new_repo(folder, access={"principals": principals})
    git(folder, "tag", "v1.0.0")
    project = load_project(folder)
    with acting_as("ci"):
        assert deploy(project, "staging").deployment.code_commit == commit
        with pytest.raises(AccessDeniedError, match=r"ci may not deploy code .* in prod"):
            deploy(project, "prod")
    assert DeploymentLog(Lake.for_environment(project, "prod")).all() == []
    with acting_as("alice"):
        grant_role(project, "ci", "deployer", "prod", reason="release train")
    with acting_as("ci"):
        done = deploy(project, "prod").deployment
    assert (done.code_commit, done.principal) == (commit, "ci")
    prod = [(r.principal, r.action, r.outcome) for r in read_audit(project.environment("prod"))]
    assert prod[::-1] == [
        ("ci", "deploy", "denied"),
        ("alice", "access.grant", "allowed"),
        ("ci", "deploy", "allowed"),
    ]
    staging = read_audit(project.environment("staging"), action="deploy")
    assert [(r.principal, r.outcome) for r in staging] == [("ci", "allowed")]
