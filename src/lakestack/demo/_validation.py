"""The demo's data validation stage: summer weather against the winter baseline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from lakestack.demo._show import console

if TYPE_CHECKING:
    from lakestack.demo._main import Demo

__all__ = ["stage_validation"]

WINTER = (12, 1, 2)
SUMMER = (6, 7, 8)
COLUMNS = ["origin", "temp", "dewp", "humid", "wind_speed", "precip", "pressure", "visib"]


def stage_validation(demo: Demo) -> None:
    """Validation: a baseline from winter weather, then summer checked against it."""
    import polars as pl

    from lakestack.validation import compute_drift, infer_schema, validate

    weather = demo.lake.read_polars("silver.weather", columns=["time_hour", *COLUMNS])
    month = pl.col("time_hour").dt.convert_time_zone("America/New_York").dt.month()
    winter = weather.filter(month.is_in(WINTER)).drop("time_hour")
    summer = weather.filter(month.is_in(SUMMER)).drop("time_hour")
    baseline = infer_schema(winter)
    baseline.save(demo.project.state_dir / "weather_winter_baseline.json")
    report = validate(summer, baseline)
    drift = compute_drift(summer, baseline)
    page = demo.project.state_dir / "weather_summer_drift.html"
    drift.to_html(page)

    view = Table(
        title=f"summer ({summer.height:,} hours) against the winter baseline ({winter.height:,} hours)"
    )
    for column in ("column", "PSI", "KS / chi2 p-value", "drifted", "anomalies"):
        view.add_column(column, justify="left" if column in ("column", "anomalies") else "right")
    by_column: dict[str, list[str]] = {}
    for anomaly in report.anomalies:
        by_column.setdefault(anomaly.column, []).append(
            f"{anomaly.severity.value}: {anomaly.kind.value}"
        )
    for c in sorted(drift.columns, key=lambda c: -c.psi):
        p_value = c.ks_p_value if c.ks_p_value is not None else c.chi2_p_value
        view.add_row(
            c.column,
            f"{c.psi:.3f}",
            "" if p_value is None else f"{p_value:.2g}",
            "[red]yes[/]" if c.drifted else "no",
            ", ".join(by_column.get(c.column, [])),
        )
    console.print(view)
    demo.results["drifted weather columns"] = drift.drifted_columns
    console.print(
        f"drifted: {', '.join(drift.drifted_columns) or 'none'}; the report with plots: {page}"
    )
