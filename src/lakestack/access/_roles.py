"""Roles and the actions they allow, per kind of environment.

Roles are ordered: each one can do what the ones before it can. An action names the least role
it needs in an ordinary environment and in a protected one (`access.protected`, `prod` by
default), where only deployers change data, models and jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lakestack.config import Role

__all__ = ["ACTIONS", "ROLES", "Action", "action", "at_least"]

ROLES: tuple[Role, ...] = ("reader", "developer", "deployer", "admin")
"""The roles, least first."""


def at_least(role: Role | None, needed: Role) -> bool:
    """Whether `role` is `needed` or above it (no role is below every role)."""
    return role is not None and ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class Action:
    """Something a principal does that a role must allow.

    Attributes:
        name: the action as the audit records it, e.g. `model.promote.production`.
        verb: what it does, for messages ("promote models to production").
        role: the least role it needs in an ordinary environment.
        protected_role: the least role it needs in a protected environment.
        kind: `write` changes the environment (a control plane must do it); `read` does not.
    """

    name: str
    verb: str
    role: Role
    protected_role: Role
    kind: Literal["read", "write"] = "write"

    def needs(self, protected: bool) -> Role:
        """The least role this action needs in an environment."""
        return self.protected_role if protected else self.role


_D: Role = "developer"
_P: Role = "deployer"

ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("table.read", "read tables, runs and models", "reader", "reader", "read"),
        Action("table.write", "write tables", _D, _P),
        Action("job.run", "run jobs", _D, _P),
        Action("job.trigger", "trigger jobs", _D, _P),
        Action("feature.publish", "publish features online", _D, _P),
        Action("model.log", "log model versions", _D, _P),
        Action("model.copy", "copy model versions into the environment", _D, _P),
        Action("model.promote.staging", "promote models to staging", _D, _P),
        Action("model.promote.production", "promote models to production", _P, _P),
        Action("model.rollback.staging", "roll back staging", _D, _P),
        Action("model.rollback.production", "roll back production", _P, _P),
        Action("deploy", "deploy code", _P, _P),
        Action("endpoint.serve", "serve endpoints", _D, _P),
        Action("endpoint.invoke", "call endpoints", "reader", "reader", "read"),
        Action("monitor.run", "run monitors", _D, _P),
        Action("alert.action", "run alert actions", _D, _P),
        Action("audit.read", "read the audit log", "reader", "reader", "read"),
        Action("access.token.own", "create or revoke their own tokens", "reader", "reader"),
        Action("access.token", "create or revoke other principals' tokens", "admin", "admin"),
        Action("access.grant", "grant and revoke roles", "admin", "admin"),
    )
}
"""Every action lakestack checks, by name."""


def action(name: str) -> Action:
    """The action of this name.

    Raises:
        KeyError: no such action (a programming error, not a user's).
    """
    try:
        return ACTIONS[name]
    except KeyError:
        raise KeyError(f"unknown action {name!r}; known: {', '.join(ACTIONS)}") from None
