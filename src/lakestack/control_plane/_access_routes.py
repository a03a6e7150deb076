"""Routes over access: who am I, principals, grants, tokens and the audit log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from lakestack.control_plane._session import (
    Reader,
    Writer,
    authenticate,
    bearer,
    unauthorized,
)

__all__ = ["router"]

router = APIRouter()

RoleName = Literal["reader", "developer", "deployer", "admin"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GrantRequest(_Body):
    """Give a principal a role in this environment."""

    principal: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$", max_length=200)
    role: RoleName
    reason: str = Field(default="", max_length=5000)


class TokenRequest(_Body):
    """Create a token of a principal, valid in this environment."""

    principal: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$", max_length=200)
    days: int | None = Field(default=None, ge=1, le=365, description="Default: access.token_days.")
    name: str = Field(default="", max_length=200, description="What it is for.")


@router.get("/api/v1/environments", tags=["access"], summary="Where the caller's token works")
def environments(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> list[dict[str, Any]]:
    """The environments this server governs in which the token works, with the role there."""
    from lakestack.access import is_protected, role_of

    project = request.app.state.project
    if credentials is None:
        raise unauthorized("this route needs `Authorization: Bearer <token>`")
    out = []
    for env in request.app.state.environments:
        try:
            caller = authenticate(project, env, credentials.credentials, request)
        except HTTPException:  # not valid in this environment: not listed
            continue
        out.append(
            {
                "name": env,
                "principal": caller.principal,
                "role": role_of(project, caller.principal, env),
                "protected": is_protected(project, env),
            }
        )
    if not out:
        raise unauthorized("the token works in none of the environments this server governs")
    return out


_PREFIX = "/api/v1/envs/{env}"


@router.get(f"{_PREFIX}/whoami", tags=["access"], summary="The caller and its role here")
def whoami(s: Writer) -> dict[str, Any]:
    from lakestack.access import role_of

    return {
        "principal": s.caller.principal,
        "environment": s.env,
        "role": role_of(s.project, s.caller.principal, s.env),
        "verified": True,
        "token_id": s.caller.token_id,
    }


@router.get(f"{_PREFIX}/access/principals", tags=["access"], summary="Principals and roles")
def principals(s: Reader) -> list[dict[str, Any]]:
    from lakestack.access import list_principals

    return [view.to_dict() for view in list_principals(s.project)]


@router.post(f"{_PREFIX}/access/grants", tags=["access"], summary="Grant a role (admins)")
def grant(s: Writer, body: GrantRequest) -> dict[str, Any]:
    from lakestack.access import grant_role

    with s.acting():
        return grant_role(s.project, body.principal, body.role, s.env, body.reason).to_dict()


@router.delete(
    f"{_PREFIX}/access/grants/{{principal}}", tags=["access"], summary="End a grant (admins)"
)
def revoke_grant(s: Writer, principal: str, reason: str = "") -> dict[str, Any]:
    from lakestack.access import revoke_role

    with s.acting():
        return revoke_role(s.project, principal, s.env, reason).to_dict()


@router.get(f"{_PREFIX}/access/tokens", tags=["access"], summary="Tokens (never the secrets)")
def tokens(s: Reader) -> list[dict[str, Any]]:
    from lakestack.access import list_tokens

    with s.acting():
        return [info.to_dict() for info in list_tokens(s.project, s.env)]


@router.post(f"{_PREFIX}/access/tokens", tags=["access"], status_code=201, summary="Create a token")
def create_token(s: Writer, body: TokenRequest) -> dict[str, Any]:
    """The token is in this answer only; the server keeps its hash."""
    from lakestack.access import create_token as create

    with s.acting():
        return create(s.project, body.principal, [s.env], days=body.days, name=body.name).to_dict()


@router.delete(f"{_PREFIX}/access/tokens/{{token_id}}", tags=["access"], summary="Revoke a token")
def revoke_token(s: Writer, token_id: str) -> dict[str, Any]:
    from lakestack.access import revoke_token as revoke

    with s.acting():
        return revoke(s.project, token_id, s.env).to_dict()


@router.get(f"{_PREFIX}/audit", tags=["access"], summary="The audit log, newest first")
def audit(
    s: Reader,
    principal: str | None = None,
    action: str | None = None,
    outcome: Literal["allowed", "denied"] | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 100,
) -> list[dict[str, Any]]:
    from lakestack.access import authorize, read_audit
    from lakestack.system_tables import AUDIT

    with s.acting():
        authorize(s.project, "audit.read", s.env, obj=AUDIT.name, audit=False)
    records = read_audit(
        s.project.environment(s.env),
        principal=principal,
        action=action,
        outcome=outcome,
        limit=limit,
    )
    return [record.to_dict() for record in records]
