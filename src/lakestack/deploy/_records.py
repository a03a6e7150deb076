"""Deployments are records: the Delta table `system.deployments` of each environment.

Its columns are declared in `lakestack.system_tables`. The table is append-only: a deploy or a
rollback adds one row, and the latest row is the environment's current deployment.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakestack.errors import DeployError
from lakestack.system_tables import DEPLOYMENTS

if TYPE_CHECKING:
    from lakestack.deploy._snapshot import Snapshot
    from lakestack.lake import Lake

__all__ = ["DEPLOYMENTS_TABLE", "Deployment", "DeploymentLog", "new_deployment_id"]

DEPLOYMENTS_TABLE = DEPLOYMENTS.name


def new_deployment_id() -> str:
    """A new deployment id: UTC time (so ids sort by time) and 6 random hex digits."""
    return f"d{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Deployment:
    """One code version made current in an environment.

    Attributes:
        deployment_id: the deployment's id (time-sortable).
        environment: the environment.
        action: `deploy`, or `rollback` (back to the deployment `restores_id`).
        code_commit: the git commit deployed.
        code_dirty: the work tree had uncommitted changes (only where `deploy.<env>.clean`
            is false; they are not part of the deployment).
        refs: the branches and tags of the environment's `deploy.<env>.refs` that contain
            the commit.
        previous_id: the deployment this one replaced, if any.
        restores_id: for a rollback, the earlier deployment it returns to.
        principal: who deployed.
        host: the machine it was deployed from.
        deployed_at: when (UTC).
        reason: why, as given.
        project_file: `lakestack.yaml` as committed.
        resolved: what is active in the environment (see `lakestack.deploy.snapshot`).
    """

    deployment_id: str
    environment: str
    action: str
    code_commit: str
    code_dirty: bool
    refs: list[str]
    previous_id: str | None
    restores_id: str | None
    principal: str
    host: str
    deployed_at: datetime
    reason: str
    project_file: str
    resolved: Snapshot = field(repr=False)

    @property
    def short_commit(self) -> str:
        return self.code_commit[:12] + ("+dirty" if self.code_dirty else "")

    @property
    def jobs(self) -> list[str]:
        """The jobs active in the environment."""
        return sorted(self.resolved.get("jobs", {}))

    @property
    def schedules(self) -> dict[str, str]:
        """Each scheduled or triggered job and what starts it."""
        out = {}
        for job, spec in self.resolved.get("schedules", {}).items():
            starts = [spec["schedule"]] if spec.get("schedule") else []
            starts += [f"{k}: {v}" for t in spec.get("triggers", []) for k, v in t.items()]
            out[job] = "; ".join(starts)
        return out

    @property
    def endpoints(self) -> list[str]:
        return sorted(self.resolved.get("endpoints", {}))

    @property
    def monitors(self) -> list[str]:
        return sorted(self.resolved.get("monitors", {}))

    def to_dict(self, *, full: bool = False) -> dict[str, Any]:
        """The deployment as JSON-ready data; `full` adds the project file and the snapshot."""
        out: dict[str, Any] = {
            "deployment_id": self.deployment_id,
            "environment": self.environment,
            "action": self.action,
            "code_commit": self.code_commit,
            "code_dirty": self.code_dirty,
            "refs": self.refs,
            "previous_id": self.previous_id,
            "restores_id": self.restores_id,
            "principal": self.principal,
            "host": self.host,
            "deployed_at": self.deployed_at.isoformat(),
            "reason": self.reason,
            "jobs": self.jobs,
            "schedules": self.schedules,
            "endpoints": self.endpoints,
            "monitors": self.monitors,
        }
        if full:
            out["project_file"] = self.project_file
            out["resolved"] = self.resolved
        return out

    def to_row(self) -> dict[str, Any]:
        """The row of `system.deployments`."""
        row = self.to_dict()
        row.update(
            deployed_at=self.deployed_at,
            refs=json.dumps(self.refs),
            project_file=self.project_file,
            resolved=json.dumps(self.resolved, sort_keys=True),
            jobs=json.dumps(self.jobs),
            schedules=json.dumps(self.schedules, sort_keys=True),
            endpoints=json.dumps(self.endpoints),
            monitors=json.dumps(self.monitors),
        )
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Deployment:
        return cls(
            deployment_id=row["deployment_id"],
            environment=row["environment"],
            action=row["action"],
            code_commit=row["code_commit"],
            code_dirty=bool(row["code_dirty"]),
            refs=json.loads(row["refs"] or "[]"),
            previous_id=row["previous_id"],
            restores_id=row["restores_id"],
            principal=row["principal"] or "",
            host=row["host"] or "",
            deployed_at=row["deployed_at"],
            reason=row["reason"] or "",
            project_file=row["project_file"] or "",
            resolved=json.loads(row["resolved"] or "{}"),
        )


class DeploymentLog:
    """The deployments of one environment, in its lake's `system.deployments`.

    Example:
        >>> log = DeploymentLog(Lake.for_environment(project, "prod"))  # doctest: +SKIP
        >>> log.current().code_commit  # doctest: +SKIP
    """

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def append(self, deployment: Deployment) -> int:
        """Append one deployment; returns the table's new version."""
        import pyarrow as pa

        table = pa.Table.from_pylist([deployment.to_row()], schema=DEPLOYMENTS.arrow_schema())
        return self.lake.append(DEPLOYMENTS_TABLE, table)

    def all(self) -> list[Deployment]:
        """Every deployment of the environment, oldest first."""
        if not self.lake.exists(DEPLOYMENTS_TABLE):
            return []
        rows = self.lake.read(DEPLOYMENTS_TABLE).to_pylist()
        found = [Deployment.from_row(r) for r in rows]
        return sorted(found, key=lambda d: (d.deployed_at, d.deployment_id))

    def current(self) -> Deployment | None:
        """The environment's current deployment (the latest), or None before the first."""
        found = self.all()
        return found[-1] if found else None

    def get(self, deployment_id: str) -> Deployment:
        """A deployment by id, or by a unique prefix of it.

        Raises:
            DeployError: no deployment, or several, have that id prefix.
        """
        found = [d for d in self.all() if d.deployment_id.startswith(deployment_id)]
        if len(found) == 1:
            return found[0]
        env = self.lake.environment
        if not found:
            raise DeployError(
                f"no deployment {deployment_id!r} in {env}; `lakestack deployments list "
                f"--env {env}` lists them"
            )
        ids = ", ".join(d.deployment_id for d in found)
        raise DeployError(f"{deployment_id!r} names several deployments in {env}: {ids}")

    def rollback_target(self) -> Deployment:
        """The deployment `lakestack deploy --rollback` returns to.

        Deployments push onto a stack and rollbacks pop it, so two rollbacks walk back two
        deployments (not back and forth between two).

        Raises:
            DeployError: there is no earlier deployment to return to.
        """
        history = self.all()
        stack: list[Deployment] = []
        by_id = {d.deployment_id: d for d in history}
        for d in history:
            if d.action == "rollback":
                if stack:
                    stack.pop()
                restored = by_id.get(d.restores_id or "")
                if restored is not None and (not stack or stack[-1] is not restored):
                    stack.append(restored)
            else:
                stack.append(d)
        env = self.lake.environment
        if len(stack) < 2:
            current = history[-1].short_commit if history else "nothing deployed"
            raise DeployError(
                f"{env} has no earlier deployment to roll back to (current: {current}); "
                f"deploy a commit with `lakestack deploy --env {env} --ref COMMIT` instead"
            )
        return stack[-2]
