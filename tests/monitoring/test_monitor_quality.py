"""Model quality per window once labels join, updated when late labels arrive."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from _monitor_kit import TABLE, MakeProject, at, batch, labels_for, monitor, write_hours
from sklearn.metrics import log_loss, roc_auc_score

from lakestack.lake import Lake
from lakestack.monitoring import metric_tables, quality_metrics, run_monitor

LABELS = {"table": "labels.flights", "keys": ["request_id", "row"], "column": "label"}


def test_late_labels_update_the_quality_of_their_window(make_project: MakeProject) -> None:
    project = make_project({"flights": monitor(labels=LABELS)})
    lake = Lake.for_environment(project, "dev")
    write_hours(lake, [0, 1])
    table = metric_tables("flights")["quality"]
    run_monitor(project, "flights", "dev", now=at(1))
    assert not lake.exists(table)  # no labels yet
    hour0 = lake.read_polars(TABLE).filter(pl.col("request_id").str.starts_with("h0-"))
    lake.append("labels.flights", labels_for(hour0.head(100)))
    first = run_monitor(project, "flights", "dev", now=at(1))
    assert [w.label() for w in first.quality_windows] == ["2026-01-01 00:00"]
    quality = lake.read_polars(table).sort("window_start")
    assert quality["labeled_rows"].to_list() == [100, 0]
    assert quality["accuracy"][0] == 1.0 and quality["accuracy"][1] is None
    assert run_monitor(project, "flights", "dev", now=at(1)).quality_windows == ()
    version = lake.version(table)
    # the rest of hour 0's labels arrive late, half of them wrong
    lake.append("labels.flights", labels_for(hour0.tail(300), flip=0.5, seed=1))
    late = run_monitor(project, "flights", "dev", now=at(1))
    assert [w.label() for w in late.quality_windows] == ["2026-01-01 00:00"]
    assert lake.version(table) == version + 1
    quality = lake.read_polars(table).sort("window_start")
    assert quality.height == 2 and quality["labeled_rows"].to_list() == [400, 0]
    assert 0.55 < quality["accuracy"][0] < 0.8
    assert 0.5 < quality["roc_auc"][0] < 1.0


def test_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    p = np.clip(y * 0.3 + rng.random(500) * 0.7, 0.01, 0.99)
    got = quality_metrics(p, y, "classification")
    assert got["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert got["log_loss"] == pytest.approx(log_loss(y, p))
    assert quality_metrics(p, np.ones(500), "classification")["roc_auc"] is None
    reg = quality_metrics([1.0, 2.0, 4.0], [1.0, 3.0, 2.0], "regression")
    assert reg == {"rmse": pytest.approx(np.sqrt(5 / 3)), "mae": pytest.approx(1.0)}


def test_regression_monitor_computes_rmse(make_project: MakeProject) -> None:
    project = make_project({"flights": monitor(labels=LABELS, problem="regression")})
    lake = Lake.for_environment(project, "dev")
    frame = batch(0)
    lake.append(TABLE, frame)
    lake.append(
        "labels.flights",
        frame.select("request_id", "row", (pl.col("prediction") + 1.0).alias("label")),
    )
    run_monitor(project, "flights", "dev", now=at(0))
    quality = lake.read_polars(metric_tables("flights")["quality"])
    assert quality["rmse"][0] == pytest.approx(1.0) and quality["mae"][0] == pytest.approx(1.0)
    assert "accuracy" not in quality.columns
