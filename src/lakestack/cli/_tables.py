"""`lakestack tables list|show|history|preview|optimize|vacuum`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lakestack.cli._common import (
    Scope,
    TableArg,
    TableVersionArg,
    command_group,
    console,
    plain,
    print_json,
    scoped,
)

__all__ = ["register"]

tables_app = command_group("The Delta tables of an environment's lake.")


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


@tables_app.command("list")
@scoped()
def list_tables(
    scope: Scope,
    schema: Annotated[
        str | None, typer.Option(help="Only this schema (bronze, silver, ...).")
    ] = None,
) -> None:
    """List the tables with rows, version, size and last writer."""
    lake = scope.lake()
    infos = lake.catalog(schema)
    if scope.json:
        print_json([info.to_dict() for info in infos])
        return
    view = Table(title=f"tables in {lake.environment} ({lake.root})")
    for column in ("table", "rows", "version", "columns", "size", "last writer", "last write"):
        view.add_column(
            column, justify="right" if column in ("rows", "version", "columns", "size") else "left"
        )
    for info in infos:
        last = info.last_commit
        view.add_row(
            info.name,
            f"{info.rows:,}",
            str(info.version),
            str(len(info.columns)),
            _size(info.size_bytes),
            last.writer if last else "",
            last.timestamp.strftime("%Y-%m-%d %H:%M:%S") if last else "",
        )
    console.print(view)


@tables_app.command("show")
@scoped()
def show(scope: Scope, name: TableArg) -> None:
    """Show a table's schema, rows, version, location and last writer."""
    info = scope.lake().info(name)
    if scope.json:
        print_json(info.to_dict())
        return
    console.print(
        f"[bold]{info.name}[/] in {info.environment}: {info.rows:,} rows, version {info.version}, "
        f"{info.files} files ({_size(info.size_bytes)})"
    )
    console.print(f"location: {info.location}")
    if info.description:
        console.print(f"description: {info.description}")
    if info.last_commit:
        console.print(
            f"last write: {info.last_commit.operation} by {info.last_commit.writer} at "
            f"{info.last_commit.timestamp:%Y-%m-%d %H:%M:%S} UTC"
        )
    view = Table(title="columns")
    view.add_column("column")
    view.add_column("type")
    view.add_column("nullable")
    for field in info.schema:
        view.add_row(field.name, str(field.type), "yes" if field.nullable else "no")
    console.print(view)


@tables_app.command()
@scoped()
def history(
    scope: Scope,
    name: TableArg,
    limit: Annotated[int | None, typer.Option(help="Only the latest N commits.")] = None,
) -> None:
    """Show a table's commits with who wrote them, from which run and which code version."""
    commits = scope.lake().history(name, limit=limit)
    if scope.json:
        print_json([commit.to_dict() for commit in commits])
        return
    view = Table(title=f"history of {name}")
    run_ids = [c.metadata.get("run_id") or "" for c in commits]
    for column in ("version", "time (UTC)", "operation", "rows added", "principal"):
        view.add_column(column)
    # run ids in full, never cut: a prefix of one can match several runs
    view.add_column("run", no_wrap=True, min_width=max(map(len, run_ids), default=0))
    for column in ("job/task", "code"):
        view.add_column(column)
    for c, run_id in zip(commits, run_ids, strict=True):
        meta = c.metadata
        commit = meta.get("git_commit")
        code = (
            f"{commit[:10]}{'+dirty' if meta.get('git_dirty') == 'true' else ''}" if commit else ""
        )
        job = "/".join(x for x in (meta.get("job"), meta.get("task")) if x)
        view.add_row(
            str(c.version),
            f"{c.timestamp:%Y-%m-%d %H:%M:%S}",
            meta.get("operation", c.operation.lower()),
            "" if c.rows_added is None else f"{c.rows_added:,}",
            plain(meta.get("principal", "")),
            run_id,
            plain(job),
            code,
        )
    console.print(view)


@tables_app.command()
@scoped()
def preview(
    scope: Scope,
    name: TableVersionArg,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Rows to show.")] = 10,
    columns: Annotated[str | None, typer.Option(help="Comma-separated columns to show.")] = None,
) -> None:
    """Show the first rows of a table (or of a version of it)."""
    selected = [c.strip() for c in columns.split(",")] if columns else None
    data = scope.lake().read(name, columns=selected, limit=limit)
    if scope.json:
        print_json(data.to_pylist())
        return
    view = Table(title=f"{name}: first {data.num_rows} rows")
    for field in data.schema:
        view.add_column(field.name, overflow="fold")
    for row in data.to_pylist():
        view.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(view)


@tables_app.command()
@scoped()
def optimize(
    scope: Scope,
    name: TableArg,
    zorder_by: Annotated[
        str | None,
        typer.Option("--zorder-by", help="Comma-separated columns to cluster the data by."),
    ] = None,
    target_size_mb: Annotated[
        int | None,
        typer.Option("--target-size-mb", min=1, help="Size of the files to write (default 100)."),
    ] = None,
) -> None:
    """Compact a table's small files into large ones (optionally Z-ordered); rows are unchanged."""
    columns = [c.strip() for c in zorder_by.split(",") if c.strip()] if zorder_by else None
    result = scope.lake().optimize(
        name,
        zorder_by=columns,
        target_size=target_size_mb * 1024 * 1024 if target_size_mb else None,
    )
    if scope.json:
        print_json(result.to_dict())
        return
    if not result.committed:
        console.print(
            f"{result.table} needs no compaction: its files are already large "
            f"(version {result.version} unchanged)",
            markup=False,
        )
        return
    order = f", Z-ordered by {', '.join(result.zorder_by)}" if result.zorder_by else ""
    console.print(
        f"optimized {result.table}: {result.files_removed} files "
        f"({_size(result.bytes_removed)}) rewritten as {result.files_added} "
        f"({_size(result.bytes_added)}){order}; version {result.version}",
        markup=False,
    )


@tables_app.command()
@scoped()
def vacuum(
    scope: Scope,
    name: TableArg,
    retain_hours: Annotated[
        int | None,
        typer.Option(
            "--retain-hours",
            min=0,
            help="Keep the files of versions younger than this (default: the table's, 168).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list the files that would be deleted.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Allow a retention shorter than the table's (no one else writing)."
        ),
    ] = False,
) -> None:
    """Delete files no recent version needs; older versions can no longer be read."""
    result = scope.lake().vacuum(name, retain_hours=retain_hours, dry_run=dry_run, force=force)
    if scope.json:
        print_json(result.to_dict())
        return
    kept = "the table's retention" if result.retain_hours is None else f"{result.retain_hours} h"
    verb = "would delete" if dry_run else "deleted"
    console.print(
        f"vacuum {result.table} (keeping {kept}): {verb} {len(result.files)} file(s)",
        markup=False,
    )
    for file in result.files if dry_run else ():
        console.print(f"  {file}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(tables_app, name="tables")
