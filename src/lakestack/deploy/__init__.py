"""The team path: projects generated from the user's data, CI/CD workflows, code versions
deployed to environments, and plans.

`init_project` inspects a table of the user's (`lakestack init --data`) and writes a complete
project: the ML package, `lakestack.yaml` with gates sized from the data, tests, a README and
the CI workflows of `write_ci` (GitHub Actions or GitLab).

`deploy` makes a git commit an environment's current code: it checks the environment's rules
(`deploy.<env>` in lakestack.yaml), checks the commit out, and records it in the environment's
`system.deployments` with what it makes active; the environment's scheduler runs that
checkout (`DeployedScheduler`). `plan` says what a deploy would add, change or remove. Models
keep their own lifecycle: a deploy moves no alias. See docs/deploy.md.

Example:
    >>> from lakestack.config import load_project
    >>> from lakestack.deploy import deploy, plan
    >>> project = load_project(".")  # doctest: +SKIP
    >>> [c.name for c in plan(project, "staging").changes]  # doctest: +SKIP
    ['training']
    >>> deploy(project, "staging", run=["training"]).deployment.code_commit  # doctest: +SKIP
"""

from __future__ import annotations

from lakestack.deploy._ci import CI_SYSTEMS, CiSystem, check_ci, ci_files, write_ci
from lakestack.deploy._deploy import (
    DeployResult,
    deploy,
    deployed_project,
    refusals,
    run_jobs,
    working_commit,
)
from lakestack.deploy._inspect import ColumnRole, DataProfile, inspect_data, read_data
from lakestack.deploy._plan import Change, Plan, diff_snapshots, plan
from lakestack.deploy._records import DEPLOYMENTS_TABLE, Deployment, DeploymentLog
from lakestack.deploy._scaffold import InitResult, init_project, project_identifier
from lakestack.deploy._scheduler import DeployedScheduler
from lakestack.deploy._snapshot import Snapshot, mask_uri, snapshot

__all__ = [
    "CI_SYSTEMS",
    "DEPLOYMENTS_TABLE",
    "Change",
    "CiSystem",
    "ColumnRole",
    "DataProfile",
    "DeployResult",
    "DeployedScheduler",
    "Deployment",
    "DeploymentLog",
    "InitResult",
    "Plan",
    "Snapshot",
    "check_ci",
    "ci_files",
    "deploy",
    "deployed_project",
    "diff_snapshots",
    "init_project",
    "inspect_data",
    "mask_uri",
    "plan",
    "project_identifier",
    "read_data",
    "refusals",
    "run_jobs",
    "snapshot",
    "working_commit",
    "write_ci",
]
