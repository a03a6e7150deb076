"""The policy: a principal's role in an environment, and whether it allows an action.

A role comes from `access.principals.<name>.roles` in lakestack.yaml (the environment's name,
else `*`) or from a grant an admin made at run time (`lakestack access grant`), stored in the
environment's `system.access_grants`; the higher of the two counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakestack.access._roles import ROLES, action, at_least
from lakestack.access._store import GRANTS_TABLE, append_rows, read_rows

if TYPE_CHECKING:
    from lakestack.config import Environment, Project, Role

__all__ = [
    "Decision",
    "access_enabled",
    "append_grant",
    "decide",
    "file_role",
    "granted_roles",
    "is_protected",
    "role_of",
]


@dataclass(frozen=True)
class Decision:
    """Whether a principal may do an action in an environment, and why.

    Attributes:
        allowed: the outcome.
        principal: who asked.
        action: the action's name (`table.write`, `model.promote.production`, ...).
        environment: the environment.
        object: what the action is on (a table, a model version, a job), for the audit.
        role: the principal's role there (None: none).
        needed: the least role the action needs there.
        reason: one sentence: why it is allowed, or what would allow it.
    """

    allowed: bool
    principal: str
    action: str
    environment: str
    object: str
    role: Role | None
    needed: Role
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def access_enabled(project: Project) -> bool:
    """Whether the project declares principals (otherwise it is single-user: nothing checked)."""
    return bool(project.config.access.principals)


def is_protected(project: Project, environment: str) -> bool:
    """Whether only deployers change the environment (`access.protected`)."""
    return environment in project.config.access.protected


def file_role(project: Project, principal: str, environment: str) -> Role | None:
    """The principal's role in the environment according to lakestack.yaml."""
    spec = project.config.access.principals.get(principal)
    if spec is None:
        return None
    return spec.roles.get(environment) or spec.roles.get("*")


def granted_roles(env: Environment, *, max_age: float = 2.0) -> dict[str, Role]:
    """The roles granted at run time in the environment, by principal (the latest grant)."""
    latest: dict[str, Role | None] = {}
    for row in sorted(read_rows(env, GRANTS_TABLE, max_age=max_age), key=lambda r: r["ts"]):
        role = row["role"]
        latest[row["principal"]] = next((r for r in ROLES if r == role), None)
    return {name: role for name, role in latest.items() if role is not None}


def append_grant(
    env: Environment, principal: str, role: Role | None, by: str, reason: str = ""
) -> None:
    """Record a grant (or, with `role=None`, the end of the principal's grant)."""
    row = {"principal": principal, "role": role or "", "ts": datetime.now(UTC), "by": by}
    append_rows(env, GRANTS_TABLE, [{**row, "reason": reason}])


def role_of(project: Project, principal: str, environment: str) -> Role | None:
    """The principal's effective role: the higher of the file's and the granted one."""
    roles = [
        role
        for role in (
            file_role(project, principal, environment),
            granted_roles(project.environment(environment)).get(principal),
        )
        if role is not None
    ]
    return max(roles, key=ROLES.index) if roles else None


def decide(
    project: Project, principal: str, action_name: str, environment: str, obj: str = ""
) -> Decision:
    """Whether `principal` may do the action in the environment (no audit, no raise)."""
    act = action(action_name)
    protected = is_protected(project, environment)
    needed = act.needs(protected)
    role = role_of(project, principal, environment)
    where = f"{environment} (protected)" if protected else environment
    if at_least(role, needed):
        reason = f"{principal} is {_a(role)} in {where}; {act.verb} needs {needed}"
        return Decision(True, principal, action_name, environment, obj, role, needed, reason)
    on = f" ({obj})" if obj else ""
    if role is None and principal not in project.config.access.principals:
        who = (
            f"{principal} is not a principal of this project and has no role in {where}; "
            f"add access.principals.{principal} with roles.{environment}: {needed} "
            "to lakestack.yaml"
        )
    else:
        who = (
            f"{principal} is {_a(role) if role else 'not given a role'} in {where}; it needs "
            f"the {needed} role: an admin runs `lakestack access grant {principal} {needed} "
            f"--env {environment}`, or sets access.principals.{principal}.roles.{environment}: "
            f"{needed} in lakestack.yaml"
        )
    reason = f"{principal} may not {act.verb}{on} in {environment}: {who}"
    return Decision(False, principal, action_name, environment, obj, role, needed, reason)


def _a(role: str | None) -> str:
    return f"an {role}" if role and role[0] in "aeiou" else f"a {role}"
