"""The console's routes on the control plane's app: the page shell and its static files."""

from __future__ import annotations

import gzip
import hashlib
import html
import os
import secrets
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from lakestack import __version__
from lakestack.charts import ASSETS as CHART_ASSETS
from lakestack.charts import asset as chart_asset
from lakestack.control_plane import create_app

if TYPE_CHECKING:
    from lakestack.config import Project

__all__ = ["console_app", "serve_console"]

_OWN = ("console.js", "console.css")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def console_app(
    project: Project,
    environments: list[str] | None = None,
    *,
    launch_token: str | None = None,
    mlflow_ui: str | None = None,
) -> FastAPI:
    """The control plane's app with the console at `/ui`.

    Args:
        project: the project served.
        environments: the environments it governs (default: all).
        launch_token: for a single-user project, the secret that opens it (see `create_app`).
        mlflow_ui: the MLflow UI's address for environments whose tracking is not an MLflow
            server (the console links each model version there).
    """
    app = create_app(project, environments, launch_token=launch_token)
    links = {
        env: _mlflow_link(project.environment(env).tracking_uri, mlflow_ui)
        for env in app.state.environments
    }
    settings = {"project": project.name, "version": __version__, "mlflow": links}

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/ui/")

    @app.get("/ui/static/{name}", include_in_schema=False)
    def static(name: str, request: Request) -> Response:
        return _static(name, request)

    @app.get("/ui", include_in_schema=False)
    @app.get("/ui/{path:path}", include_in_schema=False)
    def page(path: str = "") -> Response:
        return Response(
            _shell(orjson.dumps(settings).decode()),
            media_type="text/html; charset=utf-8",
            headers={"Cache-Control": "no-cache", **_SECURITY},
        )

    return app


_SECURITY = {
    # the pages load only this server's scripts and talk only to it
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _mlflow_link(tracking_uri: str, mlflow_ui: str | None) -> str | None:
    if tracking_uri.startswith(("http://", "https://")):
        return tracking_uri.rstrip("/")
    return mlflow_ui.rstrip("/") if mlflow_ui else None


@cache
def _file(name: str) -> tuple[bytes, bytes, str]:
    """(bytes, gzipped bytes, ETag) of a static file of the console or of the charts."""
    if name in _OWN:
        data = (resources.files(__package__) / "static" / name).read_bytes()
    elif name in CHART_ASSETS:
        data = chart_asset(name)
    else:
        raise HTTPException(404, f"no static file {name!r}")
    tag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
    return data, gzip.compress(data, 6), tag


def _static(name: str, request: Request) -> Response:
    data, packed, tag = _file(name)
    headers = {"ETag": tag, "Cache-Control": "max-age=3600, must-revalidate", **_SECURITY}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    kind = _TYPES[os.path.splitext(name)[1]]
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        return Response(packed, media_type=kind, headers=headers)
    return Response(data, media_type=kind, headers=headers)


@cache
def _template() -> str:
    return (resources.files(__package__) / "static" / "index.html").read_text(encoding="utf-8")


def _shell(settings: str) -> str:
    scripts = "".join(
        f'<script src="/ui/static/{name}?v={_file(name)[2].strip(chr(34))}"></script>'
        for name in (*CHART_ASSETS, "console.js")
    )
    css = _file("console.css")[2].strip('"')
    return (
        _template()
        .replace("{{settings}}", html.escape(settings, quote=True))
        .replace("{{scripts}}", scripts)
        .replace("{{css}}", css)
    )


def serve_console(
    project: Project,
    environments: list[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8700,
    mlflow_ui: str | None = None,
    log_level: str = "info",
    on_ready: Any = None,
) -> None:
    """Serve the control plane and the console under uvicorn until SIGINT/SIGTERM.

    A single-user project gets a fresh launch token; `on_ready(url)` is called with the
    console's address (holding that token when there is one) before serving starts.
    """
    import uvicorn

    from lakestack.access import AUTHORITY_VARIABLE

    token = None if project.config.access.principals else secrets.token_urlsafe(24)
    app = console_app(project, environments, launch_token=token, mlflow_ui=mlflow_ui)
    os.environ[AUTHORITY_VARIABLE] = ",".join(app.state.environments)
    url = f"http://{host}:{port}/ui/" + (f"?token={token}" if token else "")
    if on_ready is not None:
        on_ready(url)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=10)
