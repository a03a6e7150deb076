"""`lakestack serve <endpoint>` and `lakestack score --model m@production --table t --output o`."""

from __future__ import annotations

from typing import Annotated

import typer

from lakestack.cli._common import (
    EnvOption,
    JsonOption,
    ProjectOption,
    console,
    err_console,
    open_project,
    print_json,
)

__all__ = ["register"]


def serve(
    endpoint: Annotated[str, typer.Argument(help="The endpoint's name in lakestack.yaml.")],
    project: ProjectOption = None,
    env: EnvOption = None,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="The port (default: endpoints.<name>.port).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: endpoints.<name>.workers).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Serve an endpoint: POST /invocations, /health, /ready, /metrics, /openapi.json."""
    from lakestack.serving import serve as run

    run(
        open_project(project),
        endpoint,
        env,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )


def score(
    model: Annotated[
        str, typer.Option("--model", "-m", help="<model>@production, @staging or @<version>.")
    ],
    table: Annotated[
        str, typer.Option("--table", "-t", help="The source table, optionally pinned: t@7.")
    ],
    output: Annotated[str, typer.Option("--output", "-o", help="The predictions table.")],
    project: ProjectOption = None,
    env: EnvOption = None,
    batch_rows: Annotated[int, typer.Option(help="Rows per Arrow batch.")] = 65_536,
    engine: Annotated[
        str | None,
        typer.Option(help="local, ray or ray://host:port (default: the environment's engine)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Predictor threads or Ray actors (default: one per CPU)."),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(help="Source columns to copy to the output, comma-separated (default: all)."),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Score a Delta table with a model version; append predictions to another table."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from lakestack.serving import score_table

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=json,
        transient=True,
    ) as bar:
        task = bar.add_task(f"scoring {table}", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = score_table(
            open_project(project),
            model,
            table,
            output,
            env,
            batch_rows=batch_rows,
            columns=[c.strip() for c in columns.split(",") if c.strip()] if columns else None,
            engine=engine,
            workers=workers,
            progress=advance,
        )
    if json:
        print_json(result.to_dict())
        return
    rate = result.rows / result.seconds if result.seconds else 0.0
    console.print(
        f"scored {result.rows} rows of {result.source}@{result.source_version} with "
        f"{result.model} v{result.model_version} -> {result.output}@{result.output_version} "
        f"in {result.seconds:.1f} s ({rate:,.0f} rows/s; {result.workers} worker(s) on "
        f"engine {result.engine})",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("score")(score)
