"""`lakestack validate --deep`: the file's names against a real lake and MLflow registry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from _kit import write_project
from lakestack.checks import deep_problems
from lakestack.cli import main
from lakestack.config import Project
from lakestack.lake import Lake
from lakestack.registry import Holdout, ModelRegistry
from lakestack.validation import infer_schema


def _frame(n: int = 200) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = (x1 - x2 > 0).astype(np.int64)
    return pl.DataFrame({"x1": x1, "x2": x2, "origin": rng.choice(["EWR", "JFK"], n), "y": y})


def _sections(**monitor_changes: Any) -> dict[str, Any]:
    monitor: dict[str, Any] = {
        "table": "inference.price",
        "model": "price",
        "window": "1h",
        "baseline": {"schema_file": "baseline.json"},
        "labels": {"table": "labels.price", "keys": ["request_id"], "column": "y"},
        "slices": ["origin"],
        "alerts": [{"name": "drift", "when": "drift.psi > 0.2 on x1"}],
    }
    monitor.update(monitor_changes)
    return {
        "jobs": {
            "retrain": {
                "triggers": [{"on_table_update": "labels.price"}],
                "tasks": [{"name": "fit", "run": "json:dumps"}],
            }
        },
        "models": {"price": {"label": "y"}, "legacy": {}},
        "endpoints": {"price": {"model": "price"}},
        "monitors": {"price": monitor},
    }


@pytest.fixture
def lake_and_registry(tmp_path: Path, mlflow_db: Path) -> Project:
    """A dev lake with an inference table, a label table and a holdout, and a registered
    version of `price` (no alias yet), under the file of `_sections()`."""
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    root = tmp_path / "proj"
    root.mkdir()
    frame = _frame()
    # the baseline knows a column x3 that the endpoint does not log
    baseline = frame.select("x1", "x2").with_columns(x3=pl.col("x1") * 2)
    infer_schema(baseline).save(root / "baseline.json")
    project = write_project(root, environments=["dev"], mlflow_db=mlflow_db, **_sections())
    lake = Lake.for_environment(project, "dev")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    lake.append(
        "inference.price",
        frame.select("x1", "x2", "origin").with_columns(
            pl.Series("request_id", [f"r{i}" for i in range(frame.height)]),
            pl.Series("ts", [start + timedelta(minutes=i) for i in range(frame.height)]),
            pl.Series("prediction", np.full(frame.height, 0.5)),
        ),
    )
    lake.append("labels.price", {"request_id": ["r0", "r1"], "y": [0, 1]})
    lake.append("gold.holdout", frame)
    x = frame.select("x1", "x2").to_pandas()
    model = LogisticRegression().fit(x, frame["y"].to_numpy())
    ModelRegistry(project, "dev").log_model(
        model,
        "price",
        signature=infer_signature(x, model.predict_proba(x)),
        holdout=Holdout("gold.holdout", lake.version("gold.holdout"), "y"),
        pip_requirements=["scikit-learn"],
    )
    return project


def test_deep_names_every_missing_table_column_model_and_alias_then_passes_when_fixed(
    lake_and_registry: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project = lake_and_registry
    root = project.root
    typos = _sections(
        time_column="tss",
        slices=["orign"],
        labels={"table": "labels.price", "keys": ["request_id"], "column": "label"},
        alerts=[{"name": "drift", "when": "drift.psi > 0.2 on x3"}],
    )
    typos["models"]["price"]["label"] = "label"
    typos["models"]["price"]["gates"] = {"slices": {"columns": ["orgin"]}}
    typos["jobs"]["retrain"]["triggers"] = [{"on_table_update": "labels.prices"}]
    typos["endpoints"]["legacy"] = {"model": "legacy", "port": 8081}
    typo_project = write_project(root, environments=["dev"], **typos)
    problems = {p.key: p.message for p in deep_problems(typo_project, "dev")}
    assert set(problems) == {
        "endpoints.legacy.model",
        "endpoints.price.stage",
        "models.price.label",
        "models.price.gates.slices.columns[0]",
        "jobs.retrain.triggers[0].on_table_update",
        "monitors.price.time_column",
        "monitors.price.slices[0]",
        "monitors.price.labels.column",
        "monitors.price.alerts[0].when",
    }, problems
    assert "'legacy' is not registered in the 'dev' registry" in problems["endpoints.legacy.model"]
    assert (
        "lakestack models promote price VERSION --to production"
        in problems["endpoints.price.stage"]
    )
    assert "not a column of gold.holdout@0" in problems["models.price.label"]
    assert "did you mean 'origin'" in problems["models.price.gates.slices.columns[0]"]
    assert "labels.prices does not exist" in problems["jobs.retrain.triggers[0].on_table_update"]
    assert "did you mean 'ts'" in problems["monitors.price.time_column"]
    assert "did you mean 'origin'" in problems["monitors.price.slices[0]"]
    assert "labels.price has no column 'label'" in problems["monitors.price.labels.column"]
    assert (
        "no column 'x3' of inference.price; it measures x1, x2"
        in problems["monitors.price.alerts[0].when"]
    )

    code, out, _ = run(capsys, "validate", "--deep", "-p", str(root), "--env", "dev", "--json")
    assert code == 1 and {p["key"] for p in json.loads(out)["problems"]} == set(problems)
    code, _, _ = run(capsys, "validate", "-p", str(root))
    assert code == 0  # none of these is visible from the file alone

    fixed = write_project(root, environments=["dev"], **_sections())
    registry = ModelRegistry(fixed, "dev")
    registry.client.set_registered_model_alias("price", "production", "1")
    assert deep_problems(fixed, "dev") == []
    code, out, _ = run(capsys, "validate", "--deep", "-p", str(root), "--env", "dev")
    assert code == 0 and "is valid" in out


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err
