"""Who calls, in which environment: bearer tokens verified per request, and the error mapping.

Every route under `/api/v1/envs/{env}` authenticates its bearer token against that
environment's token store; the request then acts as the token's principal (`acting_as`), so the
library's own checks (`lakestack.access.authorize`) decide and audit what it may do.
"""

from __future__ import annotations

import hmac
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lakestack.access import Caller, acting_as, authorize, claimed_principal, verify_token
from lakestack.errors import (
    AccessError,
    AuthenticationError,
    GateFailedError,
    LakestackError,
    TableNotFoundError,
    WriteConflictError,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from lakestack.config import Project

__all__ = [
    "FastJSON",
    "Reader",
    "Session",
    "Writer",
    "authenticate",
    "bearer",
    "install_error_handlers",
    "not_found",
    "unauthorized",
]

bearer = HTTPBearer(auto_error=False, description="A lakestack token: lks_<id>_<secret>.")


class FastJSON(JSONResponse):
    """JSON by orjson: datetimes as ISO 8601, NaN and infinities as null, NumPy values."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(
            content,
            default=str,
            option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
        )


@dataclass(frozen=True)
class Session:
    """One authenticated request in one environment.

    Attributes:
        project: the project the server serves.
        env: the environment of the route.
        caller: the principal its token proved, and where the request came from.
    """

    project: Project
    env: str
    caller: Caller

    def acting(self) -> AbstractContextManager[Caller]:
        """Act as the caller while the request runs (the library's checks see it)."""
        return acting_as(self.caller)


def not_found(what: str, known: list[str] | None = None) -> HTTPException:
    """A 404 naming what is missing (and what exists)."""
    hint = f"; known: {', '.join(known) or 'none'}" if known is not None else ""
    return HTTPException(404, f"{what} not found{hint}")


def unauthorized(message: str) -> HTTPException:
    """A 401 asking for a bearer token."""
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def authenticate(project: Project, env: str, token: str, request: Request) -> Caller:
    """The caller a token proves in an environment.

    Raises:
        HTTPException: 401 for a missing, unknown, revoked or expired token.
    """
    launch: str | None = getattr(request.app.state, "launch_token", None)
    if launch is not None:  # a single-user project: the local user, nothing is checked
        if not hmac.compare_digest(token.encode(), launch.encode()):
            raise unauthorized("this console's address holds its token: open the URL it printed")
        return Caller(claimed_principal(), "console", verified=False)
    try:
        info = verify_token(project.environment(env), token)
    except AuthenticationError as exc:
        raise unauthorized(str(exc)) from None
    host = request.client.host if request.client else "?"
    return Caller(info.principal, f"http {host}", verified=True, token_id=info.token_id)


def _session(
    request: Request,
    env: str,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Session:
    project: Project = request.app.state.project
    governed: list[str] = request.app.state.environments
    if credentials is None:
        raise unauthorized(
            f"this route needs `Authorization: Bearer <token>` with a token that works in {env} "
            f"(`lakestack access token create <principal> --env {env}`)"
        )
    if env not in governed:
        raise not_found(f"environment {env!r}", governed)
    return Session(project, env, authenticate(project, env, credentials.credentials, request))


def _reader(session: Annotated[Session, Depends(_session)]) -> Session:
    with session.acting():
        authorize(session.project, "table.read", session.env, audit=False)
    return session


Writer = Annotated[Session, Depends(_session)]
"""An authenticated session; the action itself checks the role (and audits)."""

Reader = Annotated[Session, Depends(_reader)]
"""An authenticated session of a principal with at least the reader role."""


def _status(exc: LakestackError) -> int:
    if isinstance(exc, AuthenticationError):
        return 401
    if isinstance(exc, AccessError):
        return 403
    if isinstance(exc, TableNotFoundError):
        return 404
    if isinstance(exc, GateFailedError | WriteConflictError):
        return 409
    return 400


def install_error_handlers(app: FastAPI) -> None:
    """Lakestack errors become 4xx with `{"error": kind, "detail": message}`."""

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LakestackError)
        status = _status(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        body = {"error": type(exc).__name__, "detail": str(exc)}
        return FastJSON(body, status_code=status, headers=headers)

    app.add_exception_handler(LakestackError, handle)
