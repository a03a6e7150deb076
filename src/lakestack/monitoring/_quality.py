"""Model quality of a window once its labels have joined: classifier and regressor metrics."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from lakestack.errors import MonitoringError
from lakestack.monitoring._windows import Window

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    import numpy.typing as npt

    from lakestack.config import MonitorConfig
    from lakestack.lake import Lake

__all__ = ["CLASSIFIER_METRICS", "REGRESSOR_METRICS", "quality_metrics", "update_quality"]

CLASSIFIER_METRICS = ("accuracy", "roc_auc", "log_loss")
REGRESSOR_METRICS = ("rmse", "mae")
_EPS = 1e-15


def quality_metrics(
    predictions: npt.ArrayLike, labels: npt.ArrayLike, problem: str
) -> dict[str, float | None]:
    """The quality metrics of one window.

    Args:
        predictions: a classifier's positive-class probabilities (or 0/1 classes), or a
            regressor's predictions.
        labels: the true 0/1 classes, or the true values.
        problem: `classification` or `regression`.

    Returns:
        Every metric of the problem; None where undefined (ROC AUC of a single class).
    """
    pred = np.asarray(predictions, dtype=np.float64)
    true = np.asarray(labels, dtype=np.float64)
    keep = ~(np.isnan(pred) | np.isnan(true))
    pred, true = pred[keep], true[keep]
    if problem == "regression":
        if not len(pred):
            return dict.fromkeys(REGRESSOR_METRICS)
        error = pred - true
        return {
            "rmse": float(math.sqrt(np.mean(error**2))),
            "mae": float(np.mean(np.abs(error))),
        }
    if not len(pred):
        return dict.fromkeys(CLASSIFIER_METRICS)
    positive = true >= 0.5
    prob = np.clip(pred, _EPS, 1 - _EPS)
    return {
        "accuracy": float(np.mean((pred >= 0.5) == positive)),
        "roc_auc": _roc_auc(pred, positive),
        "log_loss": float(-np.mean(np.where(positive, np.log(prob), np.log(1 - prob)))),
    }


def _roc_auc(scores: npt.NDArray[np.float64], positive: npt.NDArray[np.bool_]) -> float | None:
    """ROC AUC as the Mann-Whitney U statistic, with average ranks for ties."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    # average ranks of tied scores
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    u = float(ranks[positive].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def update_quality(
    lake: Lake, config: MonitorConfig, tables: dict[str, str], length: timedelta, now: datetime
) -> list[Window]:
    """Recompute the quality of processed windows when the label table has a new version.

    Labels arrive late: each pass that sees a new version of the label table joins it again to
    the inference rows of every processed window and merges the quality rows (keyed by window).

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
    for table, names in (
        (config.table, lake.schema(config.table).names),
        (labels.table, lake.schema(labels.table).names),
    ):
        missing = [k for k in labels.keys if k not in names]
        if missing:
            raise MonitoringError(
                f"label join keys {', '.join(missing)} are not columns of {table}; "
                f"its columns: {', '.join(names)} (set the monitor's `labels.keys`)"
            )
    time_col, pred = config.time_column, config.prediction_column
    inference = lake.read_polars(
        config.table,
        columns=list(dict.fromkeys([*labels.keys, time_col, pred])),
        filters=[(time_col, ">=", state["window_start"].min())],
    ).filter(
        (pl.col(time_col) >= state["window_start"].min())
        & (pl.col(time_col) < state["window_end"].max())
    )
    truth = lake.read_polars(labels.table, columns=[*labels.keys, labels.column]).unique(
        subset=labels.keys, keep="last"
    )
    step = int(length.total_seconds() * 1_000_000)
    joined = inference.join(truth, on=labels.keys, how="inner").with_columns(
        pl.from_epoch(pl.col(time_col).dt.epoch("us") // step * step, time_unit="us")
        .dt.replace_time_zone("UTC")
        .alias("window_start")
    )
    groups = {k[0]: g for k, g in joined.partition_by("window_start", as_dict=True).items()}
    wanted = config.metrics or list(
        REGRESSOR_METRICS if config.problem == "regression" else CLASSIFIER_METRICS
    )
    before = (
        {}
        if existing is None
        else dict(existing.select("window_start", "labeled_rows").iter_rows())
    )
    rows: list[dict[str, Any]] = []
    changed: list[Window] = []
    for start, end, count in state.select("window_start", "window_end", "rows").iter_rows():
        group = groups.get(start)
        labeled = 0 if group is None else group.height
        metrics = (
            quality_metrics(group[pred].to_numpy(), group[labels.column].to_numpy(), config.problem)
            if group is not None
            else {}
        )
        row: dict[str, Any] = {
            "window_start": start,
            "window_end": end,
            "rows": count,
            "labeled_rows": labeled,
            **{m: metrics.get(m) for m in (*CLASSIFIER_METRICS, *REGRESSOR_METRICS)},
            "labels_version": version,
            "computed_at": now,
        }
        rows.append({k: v for k, v in row.items() if k not in _ALL or k in wanted})
        if before.get(start, 0) != labeled:
            changed.append(Window(start, end))
    frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col(m).cast(pl.Float64) for m in wanted
    )
    lake.merge(tables["quality"], frame, keys=["window_start"])
    return changed


_ALL = (*CLASSIFIER_METRICS, *REGRESSOR_METRICS)
