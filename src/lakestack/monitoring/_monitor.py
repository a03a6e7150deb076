"""`run_monitor`: one incremental pass of a monitor over the complete windows it has not seen."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from lakestack.errors import MonitoringError, RegistryError
from lakestack.monitoring._actions import Alert
from lakestack.monitoring._alerts import evaluate_alerts
from lakestack.monitoring._drift import window_drift
from lakestack.monitoring._profile import profile_windows
from lakestack.monitoring._quality import update_quality
from lakestack.monitoring._tables import metric_tables, read_or_none
from lakestack.monitoring._windows import Window, complete_windows, parse_window
from lakestack.system_tables import INFERENCE, MONITOR_DRIFT, MONITOR_PROFILE, MONITOR_STATE

if TYPE_CHECKING:
    import polars as pl

    from lakestack.config import MonitorConfig, Project
    from lakestack.lake import Lake
    from lakestack.validation import Schema

__all__ = ["MonitorResult", "load_baseline", "monitor_config", "monitored_columns", "run_monitor"]

# Columns of the serving inference table that are not model inputs.
_NOT_FEATURES = INFERENCE.reserved_names


@dataclass(frozen=True)
class MonitorResult:
    """What one monitor pass did.

    Attributes:
        monitor: the monitor's name.
        windows: the windows processed in this pass (none on a rerun).
        profile_rows: rows merged into `monitoring.<name>_profile`.
        drift_rows: rows merged into `monitoring.<name>_drift`.
        quality_windows: windows whose quality was computed or updated (late labels).
        alerts: alerts that started firing or resolved.
        tables: the metric tables, by kind.
    """

    monitor: str
    windows: tuple[Window, ...]
    profile_rows: int
    drift_rows: int
    quality_windows: tuple[Window, ...]
    alerts: tuple[Alert, ...]
    tables: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "windows": [w.label() for w in self.windows],
            "profile_rows": self.profile_rows,
            "drift_rows": self.drift_rows,
            "quality_windows": [w.label() for w in self.quality_windows],
            "alerts": [f"{a.rule}: {a.state}" for a in self.alerts],
            "tables": self.tables,
        }


def monitor_config(project: Project, name: str) -> MonitorConfig:
    """The monitor `name` of `lakestack.yaml`.

    Raises:
        MonitoringError: no such monitor.
    """
    monitors = project.config.monitors
    if name not in monitors:
        raise MonitoringError(
            f"no monitor {name!r} in lakestack.yaml; monitors: {', '.join(sorted(monitors)) or 'none'} "
            "(add one under `monitors:`, see docs/monitoring.md)"
        )
    return monitors[name]


def load_baseline(project: Project, config: MonitorConfig, env: str | None) -> Schema:
    """The drift baseline: the schema file, or the data schema stored with the model version.

    Raises:
        MonitoringError: the file is missing, or the version has no stored data schema.
    """
    from lakestack.validation import Schema

    if config.baseline.schema_file:
        path = project.root / config.baseline.schema_file
        if not path.is_file():
            raise MonitoringError(
                f"baseline schema file {path} does not exist; write it with "
                "`lakestack data profile <table> --out <file>`"
            )
        return Schema.from_json(path.read_text(encoding="utf-8"))
    from lakestack.registry import ModelRegistry

    stage = config.baseline.stage
    try:
        loaded = ModelRegistry(project, env).load_model(config.model, stage)
    except RegistryError as exc:
        raise MonitoringError(
            f"the drift baseline of model {config.model!r} comes from its {stage} version: "
            f"{exc} Promote a version, or set the monitor's `baseline.schema_file`"
        ) from exc
    text = loaded.data_schema_json()
    if text is None:
        raise MonitoringError(
            f"the {stage} version of model {config.model!r} has no stored data schema; log it "
            "with `data_schema=` or set the monitor's `baseline.schema_file`"
        )
    return Schema.from_json(text)


def run_monitor(
    project: Project,
    name: str,
    env: str | None = None,
    *,
    now: datetime | None = None,
    baseline: Schema | None = None,
    lake: Lake | None = None,
) -> MonitorResult:
    """Process the complete windows of the monitored table that have not been processed yet.

    Appends per window profile and drift rows, updates quality when labels have joined, and
    evaluates the alert rules. Rerunning without new complete windows writes no metric rows.

    Args:
        project: the project.
        name: the monitor's name in `lakestack.yaml`.
        env: the environment (default: `LAKESTACK_ENV`, then the file's default).
        now: the current time (windows ending later are still open); default the clock.
        baseline: the drift baseline; default `load_baseline`.
        lake: the environment's lake; default `Lake.for_environment(project, env)`.

    Returns:
        What the pass did.

    Raises:
        MonitoringError: an unknown monitor or column, or no baseline.

    Example:
        >>> run_monitor(project, "flights", env="prod").windows  # doctest: +SKIP
        (Window(start=..., end=...),)
    """

    from lakestack.access import authorize_writer
    from lakestack.lake import Lake

    config = monitor_config(project, name)
    lake = lake or Lake.for_environment(project, env)
    authorize_writer(project, "monitor.run", lake, name)
    now = now or datetime.now(UTC)
    length = parse_window(config.window)
    tables = metric_tables(name)
    if not lake.exists(config.table):
        raise MonitoringError(
            f"monitor {name!r}: table {config.table} does not exist in the "
            f"{lake.environment!r} lake yet"
        )
    names = lake.schema(config.table).names
    if config.time_column not in names:
        raise MonitoringError(
            f"monitor {name!r}: {config.table} has no time column {config.time_column!r}; "
            f"its columns: {', '.join(names)}"
        )
    state = read_or_none(lake, tables["state"])
    after = None if state is None or state.is_empty() else state["window_end"].max()
    processed: tuple[Window, ...] = ()
    profile_rows = drift_rows = 0
    read_after: datetime | None = None if after is None else after - length  # type: ignore[assignment,operator]
    # The time column alone says whether there is work: the baseline (perhaps a model
    # download) and the feature columns are read only when a new window is complete.
    times = _read(lake, config, [], read_after).get_column(config.time_column)
    windows = (
        complete_windows(times.min(), times.max(), length, now, after)  # type: ignore[arg-type]
        if len(times)
        else []
    )
    if windows:
        base = (
            baseline
            if baseline is not None
            else load_baseline(project, config, env or lake.environment)
        )
        features = monitored_columns(config, names, base)
        frame = _with_window(_read(lake, config, features, read_after), config.time_column, length)
        profile, drift, counts = _measure(frame, windows, features, config, base, length)
        if not profile.is_empty():
            lake.merge(tables["profile"], profile, keys=list(MONITOR_PROFILE.keys))
        if not drift.is_empty():
            lake.merge(tables["drift"], drift, keys=list(MONITOR_DRIFT.keys))
        lake.merge(tables["state"], _state(windows, counts, now), keys=list(MONITOR_STATE.keys))
        processed, profile_rows, drift_rows = tuple(windows), profile.height, drift.height
    quality = update_quality(lake, config, tables, length, now)
    alerts = evaluate_alerts(project, lake, name, config, now)
    return MonitorResult(
        monitor=name,
        windows=processed,
        profile_rows=profile_rows,
        drift_rows=drift_rows,
        quality_windows=tuple(quality),
        alerts=tuple(alerts),
        tables=tables,
    )


def _state(windows: list[Window], counts: dict[datetime, int], now: datetime) -> pl.DataFrame:
    import polars as pl

    return pl.DataFrame(
        {
            "window_start": [w.start for w in windows],
            "window_end": [w.end for w in windows],
            "rows": [counts.get(w.start, 0) for w in windows],
            "processed_at": [now] * len(windows),
        },
        schema=MONITOR_STATE.polars_schema(),
    )


def monitored_columns(config: MonitorConfig, names: list[str], baseline: Schema) -> list[str]:
    """The feature columns a monitor profiles and compares: its `columns`, else the baseline's
    columns present in the table (`names`), without the time, prediction and logging columns.

    Raises:
        MonitoringError: a declared column is not in the table.
    """
    if config.columns is not None:
        missing = [c for c in config.columns if c not in names]
        if missing:
            raise MonitoringError(
                f"monitor columns {', '.join(missing)} are not in {config.table}; "
                f"its columns: {', '.join(names)}"
            )
        return list(config.columns)
    skip = _NOT_FEATURES | {config.time_column, config.prediction_column}
    return [c for c in baseline.names if c in names and c not in skip]


def _read(
    lake: Lake, config: MonitorConfig, features: list[str], after: datetime | None
) -> pl.DataFrame:

    columns = list(dict.fromkeys([config.time_column, *features, *config.slices]))
    # Only the files that may hold rows since the previous window are read (Delta file stats).
    filters = None if after is None else [(config.time_column, ">=", after)]
    return lake.read_polars(config.table, columns=columns, filters=filters)


def _with_window(frame: pl.DataFrame, time_column: str, length: timedelta) -> pl.DataFrame:
    import polars as pl

    step = int(length.total_seconds() * 1_000_000)
    start = pl.from_epoch(pl.col(time_column).dt.epoch("us") // step * step, time_unit="us")
    return frame.with_columns(start.dt.replace_time_zone("UTC").alias("window_start"))


def _measure(
    frame: pl.DataFrame,
    windows: list[Window],
    features: list[str],
    config: MonitorConfig,
    baseline: Schema,
    length: timedelta,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[datetime, int]]:
    import polars as pl

    starts = [w.start for w in windows]
    by_start = {
        key[0]: part for key, part in frame.partition_by("window_start", as_dict=True).items()
    }
    current = frame.filter(pl.col("window_start").is_in(starts))
    profile = profile_windows(current, features, config.slices).with_columns(
        (pl.col("window_start") + length).alias("window_end")
    )
    rows: list[dict[str, Any]] = []
    for window in windows:
        part = by_start.get(window.start)
        if part is None:
            continue
        previous = by_start.get(window.start - length)
        rows += window_drift(
            window.start,
            part.select(features),
            baseline,
            None if previous is None else previous.select(features),
            features,
        )
    drift = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
    if not drift.is_empty():
        drift = drift.with_columns(
            pl.col("window_start").cast(pl.Datetime("us", "UTC")),
            (pl.col("window_start").cast(pl.Datetime("us", "UTC")) + length).alias("window_end"),
            pl.col("p_value", "ks_statistic", "ks_p_value").cast(pl.Float64),
        )
    counts = {start: part.height for start, part in by_start.items()}
    return profile, drift, counts
