"""`lakestack serve <endpoint>` and `lakestack score --model m@production --table t --output o`
(with `--follow`, a follower scoring each new version's appended rows until stopped)."""

from __future__ import annotations

import os
import signal
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lakestack.cli._common import (
    EngineOption,
    HostOption,
    LogLevelOption,
    Scope,
    console,
    err_console,
    print_json,
    scoped,
)

if TYPE_CHECKING:
    from lakestack.serving import ScoreStream, StreamCommit

__all__ = ["register"]


@scoped(json=False)
def serve(
    scope: Scope,
    endpoint: Annotated[str, typer.Argument(help="The endpoint's name in lakestack.yaml.")],
    host: HostOption = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="The port (default: endpoints.<name>.port).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: endpoints.<name>.workers).")
    ] = None,
    log_level: LogLevelOption = "info",
) -> None:
    """Serve an endpoint: POST /invocations, /health, /ready, /metrics, /openapi.json."""
    from lakestack.serving import serve as run

    run(
        scope.project(),
        endpoint,
        scope.env,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )


@scoped()
def score(
    scope: Scope,
    model: Annotated[
        str, typer.Option("--model", "-m", help="<model>@production, @staging or @<version>.")
    ],
    table: Annotated[
        str, typer.Option("--table", "-t", help="The source table, optionally pinned: t@7.")
    ],
    output: Annotated[str, typer.Option("--output", "-o", help="The predictions table.")],
    batch_rows: Annotated[int, typer.Option(help="Rows per Arrow batch.")] = 65_536,
    engine: EngineOption = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Predictor threads or Ray actors (default: one per CPU)."),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(help="Source columns to copy to the output, comma-separated (default: all)."),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="Keep scoring: each new version's appended rows, exactly once, until Ctrl-C.",
        ),
    ] = False,
    since: Annotated[
        int | None,
        typer.Option(
            help="With --follow: start after this source version instead of scoring the "
            "table as it is (or skip past a version that rewrote rows)."
        ),
    ] = None,
    poll: Annotated[
        float, typer.Option(help="With --follow: seconds between looks for new versions.")
    ] = 2.0,
    write_rows: Annotated[
        int | None,
        typer.Option(
            help="Rows per Delta append (default 262,144; with --follow: per commit, at most, "
            "default 1,000,000).",
            show_default=False,
        ),
    ] = None,
    compiled: Annotated[
        bool | None,
        typer.Option(
            "--compiled/--no-compiled",
            help="Predict with the LightGBM model compiled to machine code (lleaves): the same "
            "predictions, several times faster (default: when compiled already or from 2M rows).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Score a Delta table with a model version; append predictions to another table.

    With --follow, the source is followed: every version's appended rows are scored once, with
    the model version holding the alias then; the last source version scored is recorded in the
    output's commits, so a restarted follower goes on where it stopped.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from lakestack.serving import score_table

    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    if since is not None and not follow:
        raise typer.BadParameter("--since goes with --follow (a batch run reads t@VERSION)")
    if compiled and follow:
        raise typer.BadParameter("--compiled goes with a batch run, not --follow")
    if follow:
        from lakestack.serving import ScoreStream

        options: dict[str, Any] = {"columns": chosen, "engine": engine, "workers": workers}
        if write_rows is not None:
            options["write_rows"] = write_rows
        stream = ScoreStream(
            scope.project(),
            model,
            table,
            output,
            scope.env,
            since=since,
            batch_rows=batch_rows,
            **options,
        )
        _follow(stream, poll, scope.json)
        return

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=scope.json,
        transient=True,
    ) as bar:
        task = bar.add_task(f"scoring {table}", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = score_table(
            scope.project(),
            model,
            table,
            output,
            scope.env,
            batch_rows=batch_rows,
            columns=chosen,
            engine=engine,
            workers=workers,
            progress=advance,
            write_rows=262_144 if write_rows is None else write_rows,
            compiled=compiled,
        )
    if scope.json:
        print_json(result.to_dict())
        return
    rate = result.rows / result.seconds if result.seconds else 0.0
    console.print(
        f"scored {result.rows} rows of {result.source}@{result.source_version} with "
        f"{result.model} v{result.model_version} -> {result.output}@{result.output_version} "
        f"in {result.seconds:.1f} s ({rate:,.0f} rows/s; {result.workers} worker(s) on "
        f"engine {result.engine}{', compiled' if result.compiled else ''})",
        highlight=False,
    )


def _follow(stream: ScoreStream, poll: float, json: bool) -> None:
    """Run a follower until SIGINT or SIGTERM, printing each commit (a JSON line with --json).

    The first signal stops it after the commit in progress; a second one at once.
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        # a raw write: the handler can run inside a print of the main thread, where a rich
        # print failed on a half-imported module and a buffered one is a reentrant call
        os.write(2, b"stopping after the commit in progress (again to stop now)\n")

    def on_commit(commit: StreamCommit) -> None:
        if json:
            print_json(commit.to_dict())
            return
        versions = f"{commit.first_version}" + (
            f"..{commit.last_version}" if commit.last_version != commit.first_version else ""
        )
        console.print(
            f"scored {commit.rows} rows of {stream.source}@{versions} with "
            f"{stream.model_name} v{commit.model_version} -> "
            f"{stream.output}@{commit.output_version} in {commit.seconds:.1f} s",
            highlight=False,
        )

    shown: dict[str, int | None] = {}

    def on_idle(scored: int | None) -> None:
        if not json and shown.get("scored", -2) != scored:
            err_console.print(
                f"following {stream.source} (scored up to version {scored}); "
                "waiting for new versions",
                highlight=False,
            )
        shown["scored"] = scored

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with stream:
            stream.run(poll, stop, on_commit=on_commit, on_idle=on_idle)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if not json:
        err_console.print(f"stopped; scored up to version {stream.scored_version()}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("score")(score)
