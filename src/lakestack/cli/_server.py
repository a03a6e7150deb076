"""`lakestack server --env prod`: the control-plane REST API."""

from __future__ import annotations

from typing import Annotated

import typer

from lakestack.cli._common import ProjectOption, open_project

__all__ = ["register"]


def server(
    project: ProjectOption = None,
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env", "-e", help="An environment it governs; repeat for several (default: all)."
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port.")] = 8700,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Serve the control plane: REST API with bearer tokens and roles; /docs, /openapi.json."""
    from lakestack.control_plane import serve

    serve(open_project(project), env, host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    app.command()(server)
