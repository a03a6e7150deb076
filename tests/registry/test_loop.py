"""A regression model and a multiclass model, each through train -> gates -> serve -> monitor
-> retrain with the defaults: no problem type declared, gates and monitors without metric
names, and every metric shown (gate reports, quality tables, report, Prometheus) fits the
problem.

The data are scikit-learn's bundled `load_diabetes` (a disease progression score) and
`load_wine` (three cultivars), in a shuffled order over a synthetic time column, with a shift
from a given day on: the score rises by 80 (diabetes), two features move (wine). The first
model trains before the shift; its quality drops on the live rows, the monitor's rule queues
the training job on the latest labelled days, the gates compare the new version with
production on a holdout after production's training period, and the endpoint follows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl
import pytest

from _kit import write_project
from lakestack.config import Project
from lakestack.lake import Lake
from lakestack.metric_catalog import ALL_METRICS, MODEL_METRICS, MONITOR_METRICS, ProblemType
from lakestack.monitoring import html_report, metric_tables, prometheus_metrics, run_monitor
from lakestack.pipelines import Scheduler, run_job
from lakestack.registry import ModelRegistry
from lakestack.serving import ServerProcess

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TASKS = Path(__file__).with_name("loop_tasks.py")


@dataclass(frozen=True)
class Case:
    """One problem type's loop."""

    name: str
    problem: ProblemType
    load: Callable[..., Any]
    hours_per_row: int
    shift_day: int
    window: str
    rule: str
    estimator: str
    first: dict[str, str]
    retrain: dict[str, int]
    gates: dict[str, Any]

    def frame(self) -> pl.DataFrame:
        """The dataset, shuffled over time, with the shift from `shift_day` on."""
        x, y = self.load(return_X_y=True, as_frame=True)
        x.columns = [c.replace("/", "_") for c in x.columns]
        order = np.random.default_rng(0).permutation(len(x))
        x, y = x.iloc[order].reset_index(drop=True), y.iloc[order].reset_index(drop=True)
        hours = np.arange(len(x)) * self.hours_per_row
        shifted = hours >= self.shift_day * 24
        if self.problem == "regression":
            y = y + np.where(shifted, 80.0, 0.0)
        else:
            x.loc[shifted, "proline"] += 1000
            x.loc[shifted, "color_intensity"] += 4
        frame = pl.from_pandas(x).with_columns(
            sample_id=pl.Series([f"s{i}" for i in range(len(x))]),
            event_ts=pl.Series([T0 + timedelta(hours=int(h)) for h in hours]),
            target=pl.Series(y.to_numpy()),
        )
        return frame.with_columns(pl.col("event_ts").dt.cast_time_unit("us"))


CASES = [
    Case(
        name="progression",
        problem="regression",
        load=lambda **kw: __import__("sklearn.datasets").datasets.load_diabetes(**kw),
        hours_per_row=3,
        shift_day=30,
        window="1d",
        rule="quality.rmse > 85 in 3 of the last 10 windows",
        estimator="hist_gradient_boosting",
        first={"train_start": "2026-01-01", "train_end": "2026-01-23", "holdout_end": "2026-01-31"},
        retrain={"train_days": 18, "holdout_days": 8},
        gates={"thresholds": ["rmse <= production * 1.0"], "regression": {}},
    ),
    Case(
        name="cultivar",
        problem="multiclass",
        load=lambda **kw: __import__("sklearn.datasets").datasets.load_wine(**kw),
        hours_per_row=6,
        shift_day=25,
        window="3d",
        rule="quality.accuracy < 0.8 in 2 of the last 3 windows",
        estimator="logistic_regression",
        first={"train_start": "2026-01-01", "train_end": "2026-01-16", "holdout_end": "2026-01-26"},
        retrain={"train_days": 15, "holdout_days": 5},
        gates={"thresholds": ["f1_macro >= 0.6"], "regression": {}},
    ),
]


def _project(root: Path, case: Case, mlflow_db: Path) -> Project:
    name = case.name
    return write_project(
        root,
        name="loop",
        environments=["dev"],
        mlflow_db=mlflow_db,
        files=[TASKS],
        # no `problem:` and no metric names: the defaults of what the model turns out to be
        models={name: {"label": "target", "gates": case.gates}},
        jobs={
            "retraining": {
                "tasks": [
                    {
                        "name": "train",
                        "run": "loop_tasks:train",
                        "params": {
                            "model": name,
                            "label": "target",
                            "estimator": case.estimator,
                            "label_table": f"labels.{name}",
                            **case.retrain,
                        },
                    }
                ]
            }
        },
        endpoints={
            name: {
                "model": name,
                "poll_interval_s": 1,
                "log_interval_s": 0.2,
                "context_columns": {"sample_id": "string", "event_ts": "timestamp"},
            }
        },
        monitors={
            name: {
                "table": f"inference.{name}",
                "model": name,
                "time_column": "event_ts",
                "window": case.window,
                "labels": {"table": f"labels.{name}", "keys": ["sample_id"], "column": "target"},
                "alerts": [
                    {
                        "name": "quality_drop",
                        "when": case.rule,
                        "actions": [{"retrain": "retraining"}],
                    }
                ],
            }
        },
    )


def _serve_live_rows(server: ServerProcess, live: pl.DataFrame, lake: Lake, table: str) -> None:
    """Every live row through the endpoint, a day at a time; wait until all are logged."""
    rows = live.drop("target").with_columns(pl.col("event_ts").dt.strftime("%Y-%m-%dT%H:%M:%S"))
    day = pl.col("event_ts").str.slice(0, 10)
    for (_,), part in rows.with_columns(day=day).group_by("day", maintain_order=True):
        body = {"dataframe_records": part.drop("day").to_dicts()}
        answer = httpx.post(server.url + "/invocations", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
    deadline = datetime.now(UTC) + timedelta(seconds=60)
    while not (lake.exists(table) and lake.read(table, columns=["row"]).num_rows == live.height):
        assert datetime.now(UTC) < deadline, "the inference log did not catch up"
        time.sleep(0.2)


def _shown_metrics(report: dict[str, Any]) -> set[str]:
    return {r["numbers"]["metric"] for r in report["results"] if "metric" in r["numbers"]}


@pytest.mark.parametrize("case", CASES, ids=[c.problem for c in CASES])
def test_train_gate_serve_monitor_retrain_with_the_defaults(
    case: Case,
    tmp_path: Path,
    mlflow_db: Path,
    server_factory: Callable[..., ServerProcess],
    child_bytecode_cache: None,
) -> None:
    project = _project(tmp_path / "proj", case, mlflow_db)
    lake = Lake.for_environment(project, "dev")
    frame = case.frame()
    lake.append("silver.samples", frame)
    registry = ModelRegistry(project, "dev")

    # train -> gates: the first version has no production to compare with
    first = run_job(project, "retraining", env="dev", params=case.first)
    assert first.ok, first
    v1 = registry.version(case.name, "production")
    assert v1.problem == case.problem  # inferred: nothing declared it
    if case.problem == "multiclass":
        assert v1.classes == [0, 1, 2]

    # serve the live rows (after the shift) and label them
    shift = T0 + timedelta(days=case.shift_day)
    live = frame.filter(pl.col("event_ts") >= shift)
    server = server_factory(project, case.name, "dev").start()
    _serve_live_rows(server, live, lake, f"inference.{case.name}")
    lake.append(f"labels.{case.name}", live.select("sample_id", "event_ts", "target"))

    # monitor: quality in the problem's metrics; the rule fires and queues the retraining
    now = frame["event_ts"].max() + timedelta(days=3)  # type: ignore[operator]
    result = run_monitor(project, case.name, "dev", now=now)
    assert [a.state for a in result.alerts] == ["firing"], result
    tables = metric_tables(case.name)
    quality = lake.read_polars(tables["quality"])
    shown = set(quality.columns) & set(ALL_METRICS)
    assert shown == set(MONITOR_METRICS[case.problem])
    if case.problem == "multiclass":
        by_class = lake.read_polars(tables["quality_by_class"])
        assert set(by_class["class"]) == {"0", "1", "2"}
        assert by_class["support"].sum() == quality["labeled_rows"].sum() == live.height
    else:
        assert not lake.exists(tables["quality_by_class"])
    exposition = prometheus_metrics(lake, [case.name])
    exported = {
        line.split('metric="')[1].split('"')[0]
        for line in exposition.splitlines()
        if line.startswith("lakestack_monitor_quality{")
    }
    assert exported == set(MONITOR_METRICS[case.problem])
    page = html_report(project, case.name, lake)
    charts = set(re.findall(r'<td class="metric">(\w+)</td>', page))
    assert charts == set(MONITOR_METRICS[case.problem])

    # retrain: the scheduler runs the queued job; the gates compare with production
    scheduler = Scheduler(project, "dev", background=False)
    launches = scheduler.tick()
    assert [x.job for x in launches] == ["retraining"]
    assert all(r.ok for r in scheduler.results), scheduler.results
    v2 = registry.version(case.name, "production")
    assert v2.version == v1.version + 1 and v2.problem == case.problem
    promotion = registry.history(case.name)[-1]
    report = promotion.gate_report()
    assert report is not None and report.passed and report.baseline_version == v1.version
    assert _shown_metrics(report.to_dict()) <= set(MODEL_METRICS[case.problem])
    regression = next(r for r in report.results if r.kind == "regression")
    assert regression.numbers["improvement"] > 0
    assert "rescoped" not in regression.message  # the holdout is after production's period

    # the endpoint follows the production alias
    deadline = datetime.now(UTC) + timedelta(seconds=60)
    while httpx.get(server.url + "/ready", timeout=5).json().get("version") != v2.version:
        assert datetime.now(UTC) < deadline, "the endpoint did not follow production"
        time.sleep(0.2)
    server.stop()
