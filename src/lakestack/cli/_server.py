"""`lakestack server --env prod` (the control-plane REST API and the console) and
`lakestack ui` (the same, for a laptop: it prints the console's address)."""

from __future__ import annotations

from typing import Annotated

import typer

from lakestack.cli._common import HostOption, LogLevelOption, ProjectOption, console, open_project

__all__ = ["register"]

EnvsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--env", "-e", help="An environment it governs; repeat for several (default: all)."
    ),
]
MlflowOption = Annotated[
    str | None,
    typer.Option(
        "--mlflow-ui",
        help="The MLflow UI's address, for links to model versions when tracking is not an "
        "MLflow server (e.g. http://127.0.0.1:5000 of `mlflow ui`).",
    ),
]


def server(
    project: ProjectOption = None,
    env: EnvsOption = None,
    host: HostOption = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port.")] = 8700,
    log_level: LogLevelOption = "info",
    mlflow_ui: MlflowOption = None,
) -> None:
    """Serve the control plane: REST API with bearer tokens and roles (/docs), console at /ui."""
    from lakestack.console import serve_console

    serve_console(
        open_project(project), env, host=host, port=port, log_level=log_level, mlflow_ui=mlflow_ui
    )


def ui(
    project: ProjectOption = None,
    env: EnvsOption = None,
    host: HostOption = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port.")] = 8765,
    log_level: LogLevelOption = "warning",
    mlflow_ui: MlflowOption = None,
) -> None:
    """Open the web console: runs, tables, models and gates, endpoints, monitors, try the model.

    A single-user project opens with the address printed (it holds a one-time token); a
    project with principals asks for a token (`lakestack access token create`).
    """
    from lakestack.console import serve_console

    def ready(url: str) -> None:
        console.print(f"lakestack console: [bold]{url}[/]  (Ctrl-C stops it)", highlight=False)

    serve_console(
        open_project(project),
        env,
        host=host,
        port=port,
        log_level=log_level,
        mlflow_ui=mlflow_ui,
        on_ready=ready,
    )


def register(app: typer.Typer) -> None:
    app.command()(server)
    app.command()(ui)
