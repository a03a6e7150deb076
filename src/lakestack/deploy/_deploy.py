"""`lakestack deploy --env E`: make a code version (a git commit) E's current deployment.

A deploy checks the environment's rules (`deploy.<env>` in the deployed `lakestack.yaml`: a
clean work tree, a commit on one of the release refs), checks the commit out (see
`_checkout.py`), records the deployment in E's `system.deployments` with what it makes active,
and, with `run`, runs jobs from the checkout. A rollback makes the deployment before the current
one current again. Models keep their own lifecycle: a deploy moves no alias.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakestack.deploy._checkout import checkout, load_checkout, prune_checkouts
from lakestack.deploy._git import GitRepo
from lakestack.deploy._plan import Change, diff_snapshots
from lakestack.deploy._records import Deployment, DeploymentLog, new_deployment_id
from lakestack.deploy._snapshot import snapshot
from lakestack.errors import DeployError, DeployRefusedError

if TYPE_CHECKING:
    from lakestack.config import Project
    from lakestack.pipelines import RunResult, RunUpdate

__all__ = [
    "DeployResult",
    "deploy",
    "deployed_project",
    "refusals",
    "run_jobs",
    "working_commit",
]

_KEEP_CHECKOUTS = 3  # the current deployment's and two before it, for quick rollbacks


@dataclass(frozen=True)
class DeployResult:
    """What a deploy did.

    Attributes:
        deployment: the deployment recorded (now current).
        previous: the deployment it replaced, if any.
        changes: what it added, changed or removed against the previous one.
        project: the project as deployed, loaded from its checkout.
        runs: the runs of the jobs asked for with `run`, in order.
    """

    deployment: Deployment
    previous: Deployment | None
    changes: list[Change]
    project: Project
    runs: list[RunResult] = field(default_factory=list)

    @property
    def trigger(self) -> str:
        """The trigger recorded with runs started by this deploy."""
        return f"deploy {self.deployment.deployment_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment.to_dict(),
            "previous": None if self.previous is None else self.previous.to_dict(),
            "changes": [c.to_dict() for c in self.changes],
            "checkout": str(self.project.root),
            "runs": [r.to_dict() for r in self.runs],
        }


def working_commit(project: Project) -> tuple[str | None, bool]:
    """The working folder's commit (HEAD) and whether the project has uncommitted changes;
    `(None, False)` outside git."""
    try:
        repo = GitRepo.of(project.root)
        commit = repo.head()
    except DeployError:
        return None, False
    prefix = repo.project.as_posix().rstrip("/") + "/"
    changed = [f for f in repo.changed_files() if prefix == "./" or f.startswith(prefix)]
    return commit, bool(changed)


def refusals(project: Project, environment: str, commit: str, dirty: bool) -> list[str]:
    """Why the environment's `deploy` rules refuse a commit (empty: they accept it).

    Args:
        project: the project whose `deploy.<environment>` rules apply (the deployed commit's).
        environment: the environment.
        commit: the commit to deploy.
        dirty: whether the work tree deploying it has uncommitted changes.
    """
    rules = project.config.deploy.get(environment)
    clean = True if rules is None else rules.clean
    refs = [] if rules is None else rules.refs
    reasons = []
    if dirty and clean:
        reasons.append(
            f"the work tree has uncommitted changes, which would not be deployed: commit them "
            f"(or stash them) first; deploy.{environment}.clean: false allows this"
        )
    if refs and not GitRepo.of(project.root).refs_containing(commit, refs):
        reasons.append(
            f"commit {commit[:12]} is not on {' or '.join(refs)} (deploy.{environment}.refs): "
            f"{environment} takes released code only; merge or tag it there first (in CI, "
            "fetch those refs: actions/checkout with fetch-depth: 0)"
        )
    return reasons


def _authorize(project: Project, environment: str, commit: str) -> None:
    """Whether the acting principal may deploy to `environment` (the `deploy` action needs the
    `deployer` role), by the access rules of the commit being deployed; recorded in the
    environment's audit table.

    Raises:
        AccessDeniedError: the principal's role does not allow it.
    """
    from lakestack.access import authorize

    authorize(project, "deploy", environment, obj=f"commit {commit[:12]}")


def deploy(
    project: Project,
    environment: str | None = None,
    *,
    ref: str | None = None,
    rollback: bool = False,
    reason: str = "",
    run: Sequence[str] = (),
    on_update: Callable[[RunUpdate], None] | None = None,
) -> DeployResult:
    """Deploy a code version to an environment, or roll it back to the previous one.

    Args:
        project: the project, as in the working folder.
        environment: the environment (default: the project's default).
        ref: a branch, tag or commit to deploy instead of the working folder's HEAD (the
            work tree's changes then do not matter).
        rollback: make the deployment before the current one current again.
        reason: why, recorded with the deployment.
        run: jobs to run from the deployed code afterwards, in order (stops at a failure).
        on_update: passed to each run (`run_job(on_update=...)`).

    Returns:
        The deployment recorded, what it changed, the deployed project and the runs.

    Raises:
        DeployRefusedError: the environment's rules refuse the commit; nothing is recorded.
        AccessDeniedError: the acting principal may not deploy there (it needs `deployer`).
        DeployError: not a git repository, an unknown ref or job, an invalid committed
            `lakestack.yaml`, or nothing to roll back to.

    Example:
        >>> result = deploy(load_project("."), "staging", run=["training"])  # doctest: +SKIP
        >>> result.deployment.code_commit, [r.status for r in result.runs]  # doctest: +SKIP
    """
    from lakestack.lake import Lake

    env = project.environment(environment).name
    log = DeploymentLog(Lake.for_environment(project, env))
    previous = log.current()
    restores: Deployment | None = None
    if rollback:
        if ref is not None:
            raise DeployError("--rollback returns to the previous deployment: leave out --ref")
        restores = log.rollback_target()
        commit, dirty = restores.code_commit, False
    elif ref is not None:
        commit, dirty = GitRepo.of(project.root).resolve(ref), False
    else:
        found, dirty = working_commit(project)
        if found is None:
            GitRepo.of(project.root).head()  # raises the error that says what to do
            raise DeployError(f"{project.root} has no commit to deploy")
        commit = found
    deployed = load_checkout(checkout(project, env, commit), commit)
    if env not in deployed.environments:
        raise DeployError(
            f"commit {commit[:12]}'s lakestack.yaml has no environment {env!r}; "
            f"its environments: {', '.join(deployed.environments)}"
        )
    unknown = [job for job in run if job not in deployed.config.jobs]
    if unknown:
        raise DeployError(
            f"commit {commit[:12]} has no job {', '.join(map(repr, unknown))} to run; its jobs: "
            f"{', '.join(deployed.config.jobs) or 'none'}"
        )
    repo = GitRepo.of(project.root)
    rules = deployed.config.deploy.get(env)
    if restores is None:
        refused = refusals(deployed, env, commit, dirty)
        if refused:
            raise DeployRefusedError(
                f"deploy of {commit[:12]} to {env} refused: " + "; ".join(refused)
            )
    _authorize(deployed, env, commit)
    refs = repo.refs_containing(commit, rules.refs) if rules and rules.refs else []
    resolved = snapshot(deployed, env)
    deployment = Deployment(
        deployment_id=new_deployment_id(),
        environment=env,
        action="rollback" if restores is not None else "deploy",
        code_commit=commit,
        code_dirty=dirty,
        refs=refs,
        previous_id=None if previous is None else previous.deployment_id,
        restores_id=None if restores is None else restores.deployment_id,
        principal=log.lake.context.principal,
        host=socket.gethostname(),
        deployed_at=datetime.now(UTC),
        reason=reason,
        project_file=repo.show(commit, deployed.file.relative_to(deployed.root)),
        resolved=resolved,
    )
    log.append(deployment)
    recent = log.all()[-_KEEP_CHECKOUTS:]
    prune_checkouts(project, env, {d.code_commit for d in recent})
    baseline = previous.resolved if previous is not None else {}
    result = DeployResult(deployment, previous, diff_snapshots(baseline, resolved), deployed)
    if run:
        result.runs.extend(run_jobs(result, run, on_update=on_update))
    return result


def run_jobs(
    result: DeployResult,
    jobs: Sequence[str],
    *,
    on_update: Callable[[RunUpdate], None] | None = None,
) -> list[RunResult]:
    """Run jobs from a deployment's checkout, in order, stopping after a failed one."""
    from lakestack.pipelines import run_job

    runs = []
    for job in jobs:
        outcome = run_job(
            result.project,
            job,
            env=result.deployment.environment,
            trigger=result.trigger,
            on_update=on_update,
        )
        runs.append(outcome)
        if not outcome.ok:
            break
    return runs


def deployed_project(project: Project, environment: str | None = None) -> Project | None:
    """The project as deployed to an environment (loaded from the checkout of its current
    deployment, made again if it was removed), or None before its first deployment."""
    from lakestack.lake import Lake

    env = project.environment(environment).name
    current = DeploymentLog(Lake.for_environment(project, env)).current()
    if current is None:
        return None
    folder = checkout(project, env, current.code_commit)
    return load_checkout(folder, current.code_commit)
