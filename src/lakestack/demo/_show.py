"""How the demo prints: its console, progress bars, and the gate table it shows twice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from lakestack.registry import GateReport

__all__ = ["console", "gate_table", "progress"]

console = Console()


def progress(width: int = 28) -> Progress:
    """A progress display (description, bar, count, time) that stays on screen."""
    return Progress(
        TextColumn(f"{{task.description:<{width}}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def gate_table(report: GateReport) -> Table:
    """Each gate of a promotion: PASS, FAIL or WARN, and its message."""
    against = f", against production v{report.baseline_version}" if report.baseline_version else ""
    view = Table(title=f"gates of {report.model} v{report.version} -> {report.stage}{against}")
    for column in ("gate", "result", "message"):
        view.add_column(column, overflow="fold")
    for r in report.results:
        verdict = (
            "[green]PASS[/]" if r.passed else "[red]FAIL[/]" if r.blocking else "[yellow]WARN[/]"
        )
        view.add_row(escape(r.name), verdict, escape(r.message))  # `[a, b)` is not markup
    if not report.results:
        view.add_row("(none)", "[green]PASS[/]", "no gates are declared for this stage")
    return view
