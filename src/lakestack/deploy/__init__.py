"""The team path: code versions deployed to environments, plans, and generated projects.

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

from lakestack.deploy._deploy import (
    DeployResult,
    deploy,
    deployed_project,
    refusals,
    run_jobs,
    working_commit,
)
from lakestack.deploy._plan import Change, Plan, diff_snapshots, plan
from lakestack.deploy._records import DEPLOYMENTS_TABLE, Deployment, DeploymentLog
from lakestack.deploy._scheduler import DeployedScheduler
from lakestack.deploy._snapshot import Snapshot, mask_uri, snapshot

__all__ = [
    "DEPLOYMENTS_TABLE",
    "Change",
    "DeployResult",
    "DeployedScheduler",
    "Deployment",
    "DeploymentLog",
    "Plan",
    "Snapshot",
    "deploy",
    "deployed_project",
    "diff_snapshots",
    "mask_uri",
    "plan",
    "refusals",
    "run_jobs",
    "snapshot",
    "working_commit",
]
