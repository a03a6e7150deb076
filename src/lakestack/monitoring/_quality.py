"""Model quality of a window once its labels have joined: the metrics of the model's problem type,
and for a multiclass model the metrics of each class.

The predictions are read from the inference table: the `prediction` column (a binary model's
positive-class probability, a regressor's value) or, for a multiclass model, the `output` column
(one probability per class, in the order of the classes its version recorded). The metrics are
the registry's (`lakestack.registry.metric`), so a gate and a monitor agree on a number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from lakestack.errors import LakestackError, MonitoringError
from lakestack.metric_catalog import PROBABILITY_METRICS
from lakestack.monitoring._windows import Window

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    import numpy.typing as npt
    import polars as pl

    from lakestack.config import MonitorConfig
    from lakestack.lake import Lake
    from lakestack.monitoring._problem import ProblemLookup
    from lakestack.registry import ModelProblem

__all__ = ["class_metrics", "quality_metrics", "update_quality"]


def quality_metrics(
    predictions: npt.ArrayLike,
    labels: npt.ArrayLike,
    problem: ModelProblem,
    metrics: list[str] | None = None,
) -> dict[str, float | None]:
    """The quality metrics of one window.

    Args:
        predictions: a binary model's positive-class probabilities, a regressor's values, or a
            multiclass model's probabilities (one row per prediction, one column per class).
        labels: the true classes (as the model's classes) or values.
        problem: the model's problem type and classes (`ModelProblem`).
        metrics: the metrics (default: every metric of the problem type).

    Returns:
        Each metric; None where undefined (the ROC AUC of one class, no labeled rows) or where
        the model returned classes and the metric needs probabilities.
    """
    from lakestack.metric_catalog import MODEL_METRICS
    from lakestack.registry import metric

    wanted = list(metrics or MODEL_METRICS[problem.problem])
    y, scores, probabilities = _encoded(predictions, labels, problem)
    out: dict[str, float | None] = {}
    for name in wanted:
        if not len(y) or (name in PROBABILITY_METRICS and not probabilities):
            out[name] = None
            continue
        value = metric(name, y, scores)
        out[name] = value if np.isfinite(value) else None
    return out


def class_metrics(
    predictions: npt.ArrayLike, labels: npt.ArrayLike, problem: ModelProblem
) -> list[dict[str, Any]]:
    """A multiclass window's metrics per class: support, precision, recall, F1, ROC AUC (the
    class against the rest), one dict per class of the model."""
    from lakestack.registry import metric

    assert problem.classes is not None
    y, scores, probabilities = _encoded(predictions, labels, problem)
    predicted = scores.argmax(axis=1) if len(y) else np.zeros(0)
    rows = []
    for index, name in enumerate(problem.classes):
        truth = (y == index).astype(np.float64)
        chosen = (predicted == index).astype(np.float64)
        row: dict[str, Any] = {"class": str(name), "support": int(truth.sum())}
        row["precision"] = metric("precision", truth, chosen) if chosen.any() else None
        row["recall"] = metric("recall", truth, chosen) if truth.any() else None
        row["f1"] = metric("f1", truth, chosen) if truth.any() or chosen.any() else None
        auc = metric("roc_auc", truth, scores[:, index]) if probabilities and len(y) else None
        row["roc_auc"] = None if auc is None or not np.isfinite(auc) else auc
        rows.append(row)
    return rows


def _encoded(
    predictions: npt.ArrayLike, labels: npt.ArrayLike, problem: ModelProblem
) -> tuple[Any, Any, bool]:
    """Labels and scores as the metrics take them; rows missing either are left out."""
    pred = np.asarray(predictions)
    true = np.asarray(labels)
    if problem.problem == "multiclass":  # rows of probabilities; None where none was logged
        keep = np.asarray([p is not None for p in pred], dtype=bool)
        width = len(problem.classes or ())
        pred = np.asarray([p for p in pred if p is not None], dtype=np.float64).reshape(-1, width)
        true = true[keep]
    else:
        pred = pred.astype(np.float64)
        keep = ~np.isnan(pred)
        pred, true = pred[keep], true[keep]
    if true.dtype.kind == "f":
        known = ~np.isnan(true)
        pred, true = pred[known], true[known]
    try:
        y = problem.targets(true)
        scores, probabilities = problem.scores(pred)
    except LakestackError as exc:
        raise MonitoringError(f"the labels or predictions do not fit the model: {exc}") from exc
    return y, scores, probabilities


def update_quality(
    lake: Lake,
    config: MonitorConfig,
    tables: dict[str, str],
    length: timedelta,
    now: datetime,
    problems: ProblemLookup,
) -> list[Window]:
    """Recompute the quality of processed windows when the label table has a new version.

    Labels arrive late: each pass that sees a new version of the label table joins it again to
    the inference rows of every processed window and merges the quality rows (keyed by window;
    a multiclass model's per-class rows by window and class).

    Returns:
        The windows whose labeled row count changed (new labels joined).
    """
    import polars as pl

    from lakestack.monitoring._tables import read_or_none

    labels = config.labels
    if labels is None or not lake.exists(labels.table):
        return []
    state = read_or_none(lake, tables["state"])
    if state is None or state.is_empty():
        return []
    version = lake.version(labels.table)
    existing = read_or_none(lake, tables["quality"])
    starts = set(state.get_column("window_start").to_list())
    if (
        existing is not None
        and not existing.is_empty()
        and existing.get_column("labels_version").max() == version
        and starts <= set(existing.get_column("window_start").to_list())
    ):
        return []
    joined = _joined(lake, config, state, length)
    versions = _versions(joined)
    problem = problems.for_versions(versions)
    from lakestack.monitoring._problem import quality_metric_names

    wanted = quality_metric_names(config, problem)
    groups = {k[0]: g for k, g in joined.partition_by("window_start", as_dict=True).items()}
    before = (
        {}
        if existing is None
        else dict(existing.select("window_start", "labeled_rows").iter_rows())
    )
    rows: list[dict[str, Any]] = []
    per_class: list[dict[str, Any]] = []
    changed: list[Window] = []
    for start, end, count in state.select("window_start", "window_end", "rows").iter_rows():
        group = groups.get(start)
        labeled = 0 if group is None else group.height
        stamp = {"window_start": start, "window_end": end}
        metrics: dict[str, float | None] = dict.fromkeys(wanted)
        if group is not None:
            predictions = _predictions(group, config, problems, problem)
            truth = group[labels.column].to_numpy()
            metrics = quality_metrics(predictions, truth, problem, wanted)
            if problem.problem == "multiclass":
                for row in class_metrics(predictions, truth, problem):
                    per_class.append(
                        {**stamp, **row, "labels_version": version, "computed_at": now}
                    )
        rows.append(
            {**stamp, "rows": count, "labeled_rows": labeled, **metrics}
            | {"labels_version": version, "computed_at": now}
        )
        if before.get(start, 0) != labeled:
            changed.append(Window(start, end))
    frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col(m).cast(pl.Float64) for m in wanted
    )
    lake.merge(tables["quality"], frame, keys=["window_start"])
    if per_class:
        lake.merge(
            tables["quality_by_class"], _class_frame(per_class), keys=["window_start", "class"]
        )
    return changed


def _joined(
    lake: Lake, config: MonitorConfig, state: pl.DataFrame, length: timedelta
) -> pl.DataFrame:
    """The inference rows of the processed windows joined with their labels, with their window."""
    import polars as pl

    labels = config.labels
    assert labels is not None
    names = lake.schema(config.table).names
    for table, columns in ((config.table, names), (labels.table, lake.schema(labels.table).names)):
        missing = [k for k in labels.keys if k not in columns]
        if missing:
            raise MonitoringError(
                f"label join keys {', '.join(missing)} are not columns of {table}; "
                f"its columns: {', '.join(columns)} (set the monitor's `labels.keys`)"
            )
    time_col = config.time_column
    wanted = [*labels.keys, time_col, config.prediction_column, "model_version", "output"]
    inference = lake.read_polars(
        config.table,
        columns=[c for c in dict.fromkeys(wanted) if c in names],
        filters=[(time_col, ">=", state["window_start"].min())],
    ).filter(
        (pl.col(time_col) >= state["window_start"].min())
        & (pl.col(time_col) < state["window_end"].max())
    )
    truth = lake.read_polars(labels.table, columns=[*labels.keys, labels.column]).unique(
        subset=labels.keys, keep="last"
    )
    step = int(length.total_seconds() * 1_000_000)
    return inference.join(truth, on=labels.keys, how="inner").with_columns(
        pl.from_epoch(pl.col(time_col).dt.epoch("us") // step * step, time_unit="us")
        .dt.replace_time_zone("UTC")
        .alias("window_start")
    )


def _versions(joined: pl.DataFrame) -> list[int]:
    if "model_version" not in joined.columns:
        return []
    return sorted(int(v) for v in joined["model_version"].drop_nulls().unique().to_list())


def _predictions(
    group: pl.DataFrame, config: MonitorConfig, problems: ProblemLookup, problem: ModelProblem
) -> Any:
    """A window's predictions: the prediction column, or a multiclass model's probabilities
    (from `output`, each row's columns put in the order of `problem`'s classes)."""
    if problem.problem != "multiclass":
        return group[config.prediction_column].to_numpy()
    import orjson

    if "output" not in group.columns:
        raise MonitoringError(
            f"{config.table} has no `output` column holding the class probabilities of the "
            "multiclass model; monitor the inference table an endpoint writes"
        )
    assert problem.classes is not None
    versions = group["model_version"].to_list() if "model_version" in group.columns else None
    out: list[Any] = []
    for i, text in enumerate(group["output"].to_list()):
        values = None if text is None else orjson.loads(text)
        if values is not None and versions is not None and versions[i] is not None:
            own = problems.for_versions([int(versions[i])]).classes
            if own is not None and own != problem.classes:
                values = [values[own.index(c)] for c in problem.classes]
        out.append(values)
    return np.asarray(out, dtype=object)


def _class_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    import polars as pl

    from lakestack.system_tables import MONITOR_QUALITY_BY_CLASS

    return pl.DataFrame(rows, schema=MONITOR_QUALITY_BY_CLASS.polars_schema())
