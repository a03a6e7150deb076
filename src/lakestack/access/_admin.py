"""Managing access: tokens, run-time grants and the list of principals, each change checked
and audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakestack.access._check import authorize
from lakestack.access._identity import current_caller
from lakestack.access._policy import append_grant, granted_roles, role_of
from lakestack.access._roles import ROLES
from lakestack.access._store import TOKENS_TABLE, append_rows
from lakestack.access._tokens import (
    TokenInfo,
    append_revocation,
    expiry,
    new_token,
    token_rows,
    tokens,
)
from lakestack.errors import LakestackError

if TYPE_CHECKING:
    from lakestack.config import Project, Role

__all__ = [
    "NewToken",
    "PrincipalView",
    "create_token",
    "grant_role",
    "list_principals",
    "list_tokens",
    "revoke_role",
    "revoke_token",
]


@dataclass(frozen=True)
class NewToken:
    """A token just created: `token` is shown once and never stored.

    Attributes:
        token: the bearer token.
        records: its record in each environment it works in.
    """

    token: str
    records: list[TokenInfo]

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, "records": [r.to_dict() for r in self.records]}


@dataclass(frozen=True)
class PrincipalView:
    """A principal with its roles: from lakestack.yaml and granted at run time.

    Attributes:
        name: the principal.
        kind: `user` or `service` (`granted` for a principal known only from grants).
        description: from lakestack.yaml.
        roles: the effective role per environment.
        granted: the run-time grants per environment.
    """

    name: str
    kind: str
    description: str
    roles: dict[str, str] = field(default_factory=dict)
    granted: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _self_or_admin(project: Project, principal: str, env: str, obj: str) -> None:
    me = current_caller(project, env).principal
    name = "access.token.own" if me == principal else "access.token"
    authorize(project, name, env, obj=obj, principal=me)


def create_token(
    project: Project,
    principal: str,
    environments: list[str] | None = None,
    *,
    days: float | None = None,
    name: str = "",
) -> NewToken:
    """Create a token of `principal` that works in the given environments.

    A principal creates its own tokens; an admin creates anyone's.

    Args:
        environments: where it works (default: the project's default environment).
        days: how long it works (default: `access.token_days`, 90; fractions allowed).
        name: what it is for, shown in listings.

    Raises:
        AccessDeniedError: the caller may not create it.
        LakestackError: the principal has no role in one of the environments.
    """
    envs = [project.environment(e).name for e in environments or [project.environment().name]]
    days = days or project.config.access.token_days
    if not 0 < days <= 365:
        raise LakestackError(f"a token is valid for up to 365 days, not {days}; pass --days N")
    token_id, token = new_token()
    expires = expiry(days)
    records = []
    for env in envs:
        if role_of(project, principal, env) is None:
            raise LakestackError(
                f"{principal} has no role in {env}, so a token would allow nothing there; give "
                f"it one in access.principals.{principal}.roles.{env} of lakestack.yaml or with "
                f"`lakestack access grant {principal} reader --env {env}`"
            )
        obj = f"token lks_{token_id} of {principal} ({name or 'unnamed'}, {days:g} days)"
        _self_or_admin(project, principal, env, obj)
    by = current_caller(project, envs[0]).principal
    for env in envs:
        row = token_rows(token_id, token, principal, name, expires, by)
        append_rows(project.environment(env), TOKENS_TABLE, [row])
        records.append(TokenInfo(token_id, principal, env, name, row["ts"], by, expires))
    return NewToken(token, records)


def revoke_token(project: Project, token_id: str, environment: str | None = None) -> TokenInfo:
    """Revoke a token in an environment (its own principal or an admin may).

    Raises:
        LakestackError: no such token there.
        AccessDeniedError: the caller may not revoke it.
    """
    env = project.environment(environment)
    token_id = token_id.removeprefix("lks_").split("_", 1)[0]
    found = {info.token_id: info for info in tokens(env)}
    info = found.get(token_id)
    if info is None:
        raise LakestackError(
            f"no token lks_{token_id} in {env.name}; see `lakestack access token list "
            f"--env {env.name}`"
        )
    _self_or_admin(project, info.principal, env.name, f"revoke token lks_{token_id}")
    if info.revoked_at is None:
        append_revocation(env, info, current_caller(project, env.name).principal)
    return next(i for i in tokens(env) if i.token_id == token_id)


def list_tokens(project: Project, environment: str | None = None) -> list[TokenInfo]:
    """The tokens of an environment: all of them for an admin, the caller's own otherwise."""
    env = project.environment(environment)
    me = current_caller(project, env.name).principal
    authorize(project, "table.read", env.name, obj="tokens", audit=False)
    found = tokens(env)
    if role_of(project, me, env.name) != "admin":
        found = [info for info in found if info.principal == me]
    return found


def grant_role(
    project: Project, principal: str, role: Role, environment: str | None = None, reason: str = ""
) -> PrincipalView:
    """Give a principal a role in an environment at run time (admins only).

    Raises:
        LakestackError: not a role.
        AccessDeniedError: the caller is not an admin there.
    """
    env = project.environment(environment)
    if role not in ROLES:
        raise LakestackError(f"{role!r} is not a role; roles: {', '.join(ROLES)}")
    authorize(project, "access.grant", env.name, obj=f"{principal} {role}")
    append_grant(env, principal, role, current_caller(project, env.name).principal, reason)
    return _view(project, principal)


def revoke_role(
    project: Project, principal: str, environment: str | None = None, reason: str = ""
) -> PrincipalView:
    """End a principal's run-time grant in an environment (its lakestack.yaml role stays).

    Raises:
        LakestackError: the principal has no grant there.
        AccessDeniedError: the caller is not an admin there.
    """
    env = project.environment(environment)
    authorize(project, "access.grant", env.name, obj=f"{principal} grant revoked")
    if principal not in granted_roles(env, max_age=0.0):
        raise LakestackError(
            f"{principal} has no granted role in {env.name} to revoke (a role in lakestack.yaml "
            "is changed there); see `lakestack access list`"
        )
    append_grant(env, principal, None, current_caller(project, env.name).principal, reason)
    return _view(project, principal)


def _view(project: Project, name: str) -> PrincipalView:
    spec = project.config.access.principals.get(name)
    roles: dict[str, str] = {}
    granted: dict[str, str] = {}
    for env in project.environments.values():
        grant = granted_roles(env, max_age=0.0).get(name)
        if grant is not None:
            granted[env.name] = grant
        role = role_of(project, name, env.name)
        if role is not None:
            roles[env.name] = role
    kind = spec.kind if spec is not None else "granted"
    return PrincipalView(name, kind, spec.description if spec else "", roles, granted)


def list_principals(project: Project) -> list[PrincipalView]:
    """Every principal of lakestack.yaml and of the environments' grants, by name."""
    names = set(project.config.access.principals)
    for env in project.environments.values():
        names |= set(granted_roles(env, max_age=0.0))
    return [_view(project, name) for name in sorted(names)]
