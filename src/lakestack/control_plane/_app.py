"""The control-plane server: a REST API over one project, for the CLI, CI and the console.

`lakestack server --env prod` serves the environments it governs. It is the process that holds
their storage credentials: an environment that names it as its `control_plane` refuses writes
from any other process, and the CLI sends that environment's writes here.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from lakestack import __version__
from lakestack.access import AUTHORITY_VARIABLE
from lakestack.control_plane import (
    _access_routes,
    _data_routes,
    _endpoint_routes,
    _model_routes,
    _overview_routes,
)
from lakestack.control_plane._session import FastJSON, install_error_handlers
from lakestack.errors import ConfigError

if TYPE_CHECKING:
    from lakestack.config import Project

__all__ = ["create_app", "serve"]

_DESCRIPTION = """\
The control plane of a lakestack project: tables (schema, history, preview), runs and lineage,
jobs and triggers, models (versions, gates, promote, rollback), endpoints, monitors and alerts,
principals, grants, tokens and the audit log.

Every route but `/health` needs `Authorization: Bearer <token>`, a token created with
`lakestack access token create <principal> --env <env>`. Reading needs the `reader` role in the
environment; each write needs the role its action needs there (docs/access.md), and every
write, allowed or denied, is recorded in the environment's `system.audit`.
"""


class ErrorBody(BaseModel):
    """Every error answer: what went wrong and how to fix it."""

    error: str | None = Field(default=None, description="The lakestack error's kind.")
    detail: Any = Field(description="The message (or the list of request validation errors).")


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The request cannot be done as asked."},
    401: {"model": ErrorBody, "description": "No token, or an unknown, revoked or expired one."},
    403: {"model": ErrorBody, "description": "The principal's role does not allow it."},
    404: {"model": ErrorBody, "description": "No such environment, table, run, model, ..."},
}


def create_app(
    project: Project, environments: list[str] | None = None, *, launch_token: str | None = None
) -> FastAPI:
    """The ASGI app of the control plane.

    Args:
        project: the project served.
        environments: the environments it governs (default: all of the project's).
        launch_token: for a single-user project (no principals), the one secret that opens
            every route, as the local user (`lakestack ui` makes one per start and puts it in
            the URL it prints).

    Raises:
        ConfigError: an unknown environment, or a project without principals (no one could
            authenticate) and no launch token.
    """
    governed = [project.environment(name).name for name in environments or project.environments]
    if launch_token is not None and project.config.access.principals:
        raise ConfigError(
            f"{project.file}: this project declares principals, so its console signs in with "
            "their tokens (`lakestack access token create`), not with a launch token"
        )
    if not project.config.access.principals and launch_token is None:
        raise ConfigError(
            f"{project.file}: the control plane authenticates principals, and this project "
            "declares none; add access.principals with roles (docs/access.md)"
        )
    app = FastAPI(
        title=f"lakestack control plane: {project.name}",
        version=__version__,
        description=_DESCRIPTION,
        default_response_class=FastJSON,
        responses=_ERRORS,
    )
    app.state.project = project
    app.state.environments = governed
    app.state.launch_token = launch_token
    install_error_handlers(app)
    app.add_middleware(_RequireBearer)

    @app.get("/health", tags=["server"], summary="Liveness (no token needed)")
    def health() -> dict[str, Any]:
        return {"status": "ok", "project": project.name, "environments": governed}

    app.include_router(_access_routes.router)
    app.include_router(_data_routes.router)
    app.include_router(_model_routes.router)
    app.include_router(_endpoint_routes.router)
    app.include_router(_overview_routes.router)
    app.openapi = lambda: _openapi(app, governed)  # type: ignore[method-assign]
    return app


class _RequireBearer:
    """Refuse an API request without a bearer token (401) before its body is even read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            headers = dict(scope["headers"])
            if not headers.get(b"authorization", b"").lower().startswith(b"bearer "):
                body = {"error": "AuthenticationError", "detail": _NO_TOKEN}
                response = FastJSON(body, 401, headers={"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


_NO_TOKEN = (
    "this route needs `Authorization: Bearer <token>` with a token that works in the "
    "environment (`lakestack access token create <principal> --env <env>`)"
)


def _openapi(app: FastAPI, governed: list[str]) -> dict[str, Any]:
    """The OpenAPI document, with the governed environments as the values of `{env}`."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for operations in schema["paths"].values():
            for operation in operations.values():
                for param in operation.get("parameters", []):
                    if param["in"] == "path" and param["name"] == "env":
                        param["schema"]["enum"] = list(governed)
        app.openapi_schema = schema
    return app.openapi_schema


def serve(
    project: Project,
    environments: list[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8700,
    log_level: str = "info",
) -> None:
    """Run the control plane under uvicorn until SIGINT/SIGTERM.

    This process (and the job processes it starts) becomes the one that may write the
    environments it governs.
    """
    import uvicorn

    app = create_app(project, environments)
    os.environ[AUTHORITY_VARIABLE] = ",".join(app.state.environments)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=10)
