"""`lakestack data profile|validate`: baselines, anomalies and drift of a table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lakestack.cli._common import (
    Scope,
    TableVersionArg,
    command_group,
    console,
    plain,
    print_json,
    scoped,
)
from lakestack.errors import DataValidationError

if TYPE_CHECKING:
    import polars as pl

    from lakestack.validation import DriftReport, ValidationReport

__all__ = ["register"]

data_app = command_group("Data validation: baselines, anomalies and drift.")

WhereOption = Annotated[
    str | None,
    typer.Option(
        "--where", help='Only rows matching this SQL condition, e.g. "month IN (6, 7, 8)".'
    ),
]
ColumnsOption = Annotated[str | None, typer.Option(help="Comma-separated columns (default: all).")]


def _load(table: str, scope: Scope, where: str | None, columns: str | None) -> pl.DataFrame:
    lake = scope.lake()
    selected = [c.strip() for c in columns.split(",")] if columns else None
    frame = lake.read_polars(table, columns=selected)
    if where:
        try:
            frame = frame.sql(f"SELECT * FROM self WHERE {where}")
        except Exception as exc:
            raise DataValidationError(
                f"--where {where!r} is not a valid SQL condition on {table}: {exc}. "
                f"Columns: {', '.join(frame.columns)}"
            ) from None
    if frame.height == 0:
        raise DataValidationError(
            f"{table} has no rows{' matching --where ' + repr(where) if where else ''}; nothing to check"
        )
    return frame


@data_app.command()
@scoped(json=False)
def profile(
    scope: Scope,
    table: TableVersionArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the schema JSON.")],
    where: WhereOption = None,
    columns: ColumnsOption = None,
) -> None:
    """Infer a table's schema and statistics and save them as a baseline (JSON)."""
    from lakestack.validation import infer_schema

    schema = infer_schema(_load(table, scope, where, columns))
    schema.save(out)
    console.print(
        f"wrote the baseline of {table} ({schema.row_count:,} rows, {len(schema.columns)} columns) to {out}"
    )


@data_app.command("validate")
@scoped()
def validate_table(
    scope: Scope,
    table: TableVersionArg,
    baseline: Annotated[Path, typer.Option(help="The baseline schema JSON (from `data profile`).")],
    where: WhereOption = None,
    columns: ColumnsOption = None,
    html: Annotated[
        Path | None, typer.Option(help="Write the drift report (with plots) to this HTML file.")
    ] = None,
) -> None:
    """Check a table against a baseline: anomalies (schema skew) and drift. Exit 1 on a FAIL."""
    from lakestack.validation import Schema, compute_drift, validate

    if not baseline.is_file():
        raise DataValidationError(
            f"baseline {baseline} does not exist; create it with `lakestack data profile TABLE --out {baseline}`"
        )
    schema = Schema.load(baseline)
    frame = _load(table, scope, where, columns)
    report = validate(frame, schema)
    drift = compute_drift(frame, schema)
    if html is not None:
        drift.to_html(html)
        report.to_html(html.with_suffix(".anomalies.html"))
    if scope.json:
        print_json(
            {
                "table": table,
                "rows": frame.height,
                "anomalies": report.to_dict(),
                "drift": drift.to_dict(),
            }
        )
    else:
        _render(table, frame.height, report, drift)
        if html is not None:
            console.print(
                f"reports: {html} (drift), {html.with_suffix('.anomalies.html')} (anomalies)"
            )
    if not report.passed:
        raise typer.Exit(1)


def _render(table: str, rows: int, report: ValidationReport, drift: DriftReport) -> None:
    from rich.table import Table

    from lakestack.validation import Severity

    anomalies = Table(
        title=f"{table}: {rows:,} rows, {len(report.errors)} errors, {len(report.warnings)} warnings"
    )
    for column in ("severity", "column", "kind", "message"):
        anomalies.add_column(column, overflow="fold")
    for a in report.anomalies:
        style = "red" if a.severity is Severity.FAIL else "yellow"
        anomalies.add_row(
            f"[{style}]{a.severity.value.upper()}[/]",
            plain(a.column),
            a.kind.value,
            plain(a.message),
        )
    console.print(anomalies)
    view = Table(
        title=f"drift: {len(drift.drifted_columns)} of {len(drift.columns)} columns drifted"
    )
    for column in ("column", "method", "statistic", "p-value", "PSI", "JS", "drifted"):
        view.add_column(column, justify="left" if column in ("column", "method") else "right")
    for c in sorted(drift.columns, key=lambda c: (not c.drifted, -c.psi)):
        view.add_row(
            c.column,
            c.method.value,
            f"{c.statistic:.3f}",
            "" if c.p_value is None else f"{c.p_value:.3g}",
            f"{c.psi:.3f}",
            f"{c.jensen_shannon:.3f}",
            "[red]yes[/]" if c.drifted else "no",
        )
    console.print(view)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
