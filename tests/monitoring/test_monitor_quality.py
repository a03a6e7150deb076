"""Model quality per window once labels join, updated when late labels arrive."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from _monitor_kit import TABLE, MakeProject, at, batch, labels_for, monitor, write_hours
from sklearn.metrics import log_loss, roc_auc_score

from lakestack.errors import MonitoringError
from lakestack.lake import Lake
from lakestack.monitoring import metric_tables, quality_metrics, run_monitor
from lakestack.registry import ModelProblem

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
    binary = ModelProblem("binary")
    got = quality_metrics(p, y, binary)
    assert got["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert got["log_loss"] == pytest.approx(log_loss(y, p))
    assert quality_metrics(p, np.ones(500), binary)["roc_auc"] is None
    reg = quality_metrics([1.0, 2.0, 4.0], [1.0, 3.0, 2.0], ModelProblem("regression"))
    assert reg == {
        "mae": pytest.approx(1.0),
        "r2": pytest.approx(1 - 5 / 2),
        "rmse": pytest.approx(np.sqrt(5 / 3)),
    }


def test_regression_monitor_computes_rmse(make_project: MakeProject) -> None:
    project = make_project(
        {"flights": monitor(labels=LABELS)}, models={"flights": {"problem": "regression"}}
    )
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


def _priced(make_project: MakeProject, models: dict[str, object], **extra: object) -> Lake:
    """A price model's inference rows and labels (the label is the prediction plus one)."""
    project = make_project({"flights": monitor(labels=LABELS, **extra)}, models=models)
    lake = Lake.for_environment(project, "dev")
    frame = batch(0).with_columns(pl.col("prediction") * 300)
    lake.append(TABLE, frame)
    lake.append(
        "labels.flights",
        frame.select("request_id", "row", (pl.col("prediction") + 1.0).alias("label")),
    )
    return lake


def test_no_problem_type_no_quality_and_no_classification_default(
    make_project: MakeProject,
) -> None:
    """Before, a monitor without `problem:` computed accuracy 1.0 for a price model."""
    lake = _priced(make_project, models={})
    project = make_project({"flights": monitor(labels=LABELS)}, models={})
    with pytest.raises(MonitoringError, match=r"cannot tell the problem type of model 'flights'"):
        run_monitor(project, "flights", "dev", now=at(0))
    assert not lake.exists(metric_tables("flights")["quality"])


def test_quality_metrics_and_rules_that_do_not_fit_are_refused_at_run_time() -> None:
    """`validate` refuses them when the problem type is declared; the problem a version
    recorded is known only at run time, where they are refused too (before: a KeyError)."""
    from lakestack.config import MonitorConfig
    from lakestack.monitoring import parse_condition
    from lakestack.monitoring._problem import quality_metric_names

    def config(**extra: object) -> MonitorConfig:
        return MonitorConfig.model_validate(monitor(labels=LABELS, **extra))

    regression, binary = ModelProblem("regression"), ModelProblem("binary")
    assert quality_metric_names(config(), regression) == ["rmse", "mae"]
    with pytest.raises(MonitoringError, match="'accuracy' does not fit a regression model"):
        quality_metric_names(config(metrics=["accuracy"]), regression)
    rule = {"name": "slow", "when": "quality.rmse > 3 in the latest window"}
    with pytest.raises(MonitoringError, match=r"'rmse' does not fit a binary model; its metrics"):
        quality_metric_names(config(alerts=[rule]), binary)
    rule = {"name": "unseen", "when": "quality.mae > 3 in the latest window"}
    with pytest.raises(MonitoringError, match="quality.mae, which the monitor does not compute"):
        quality_metric_names(config(metrics=["rmse"], alerts=[rule]), regression)
    # a quality table without the rule's column: the rule says so
    frame = pl.DataFrame({"window_start": [at(0)], "labeled_rows": [10], "accuracy": [0.9]})
    with pytest.raises(MonitoringError, match="quality table has no column 'rmse'"):
        parse_condition("quality.rmse > 3").evaluate(frame)


def test_multiclass_quality_and_its_per_class_metrics_match_scikit_learn() -> None:
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    from lakestack.monitoring._quality import class_metrics

    classes = ("red", "rose", "white")
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 300)
    logits = rng.normal(size=(300, 3)) + 2.0 * np.eye(3)[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array(classes)[y]
    logged = [list(row) for row in p] + [None]  # a row whose answer was not logged
    problem = ModelProblem("multiclass", classes)
    got = quality_metrics(np.array(logged, dtype=object), np.append(labels, "red"), problem)
    assert got["accuracy"] == pytest.approx(accuracy_score(y, p.argmax(axis=1)))
    assert got["f1_macro"] == pytest.approx(f1_score(y, p.argmax(axis=1), average="macro"))
    assert got["log_loss"] == pytest.approx(log_loss(y, p))
    assert got["roc_auc_ovr"] == pytest.approx(roc_auc_score(y, p, multi_class="ovr"))
    rows = class_metrics(np.array(logged, dtype=object), np.append(labels, "red"), problem)
    precision, recall, f1, support = precision_recall_fscore_support(y, p.argmax(axis=1))
    assert [r["class"] for r in rows] == list(classes)
    for i, row in enumerate(rows):
        assert row["support"] == support[i]
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx(
            (precision[i], recall[i], f1[i])
        )
        assert row["roc_auc"] == pytest.approx(roc_auc_score(y == i, p[:, i]))
