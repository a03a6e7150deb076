"""The demo fails the way every command fails: a `LakestackError` that says why, exit 1, one
paragraph (the whole walk-through, end to end, is tests/cli/test_demo.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from _kit import write_project
from _kit.models import log_fitted
from lakestack.cli import main
from lakestack.demo import Demo
from lakestack.demo._endpoint import DemoEndpoint
from lakestack.demo._ingest import stage_ingest
from lakestack.demo._models import _promote
from lakestack.errors import ConfigError, GateFailedError, PipelineError, ServingError
from lakestack.lake import Lake
from lakestack.registry import Holdout, Lineage, ModelRegistry
from lakestack.templates import scaffold

HERE = Path(__file__).parent


def test_a_failed_ingest_names_the_task_its_error_and_the_run(tmp_path: Path) -> None:
    job = {"tasks": [{"name": "download", "run": "demo_tasks:broken_download", "retries": 0}]}
    project = write_project(
        tmp_path / "proj", name="demo", files=[HERE / "demo_tasks.py"], jobs={"ingest": job}
    )
    demo = Demo(project, Lake.for_environment(project, "dev"))
    with pytest.raises(PipelineError) as info:
        stage_ingest(demo)
    message = str(info.value)
    assert "the ingest job failed in run" in message
    assert "download: " in message and "could not be downloaded" in message
    assert "lakestack runs show" in message


def test_an_endpoint_that_cannot_start_is_a_serving_error_quoting_its_log(tmp_path: Path) -> None:
    project = write_project(tmp_path / "proj", name="demo")
    endpoint = DemoEndpoint(project, "flights_delay", "dev")
    with pytest.raises(ServingError, match=r"exited with 1.*flights_delay"):
        endpoint.start(timeout=120)
    assert not endpoint.server.running


def test_a_demo_folder_that_is_a_file_is_one_paragraph_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    with pytest.raises(ConfigError, match="is a file"):
        scaffold("flights", taken)
    with pytest.raises(SystemExit) as info:
        main(["demo", "--dir", str(taken)])
    err = capsys.readouterr().err
    assert info.value.code == 1
    assert "is a file" in err and "Traceback" not in err


def test_a_refused_promotion_the_demo_needs_stops_it_naming_the_gate_and_why(
    tmp_path: Path, mlflow_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sklearn.linear_model import LogisticRegression

    gates = {
        "thresholds": ["roc_auc >= 0.5"],
        "infrastructure": {"cpu_ms": 0.0001, "requests": 3, "stages": ["production"]},
    }
    project = write_project(
        tmp_path / "proj",
        name="demo",
        environments=["dev"],
        mlflow_db=mlflow_db,
        models={"flights_delay": {"label": "delayed", "gates": gates}},
    )
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"x": rng.normal(size=400)}).with_columns(
        delayed=(pl.col("x") + pl.Series(rng.normal(size=400)) > 0).cast(pl.Int64)
    )
    lake = Lake.for_environment(project, "dev")
    lake.append("gold.holdout", frame)
    x = frame.select("x").to_pandas()
    model = LogisticRegression().fit(x, frame["delayed"].to_numpy())
    registry = ModelRegistry(project, "dev")
    holdout = Holdout("gold.holdout", lake.version("gold.holdout"), "delayed")
    version = log_fitted(
        registry, model, "flights_delay", x, proba=True, lineage=Lineage(holdout=holdout)
    ).version

    _promote(registry, version, "staging", needed_by="its promotion to production")
    with pytest.raises(GateFailedError) as info:
        _promote(registry, version, "production", needed_by="the serving stage")
    message = str(info.value)
    assert message.startswith("the demo stops: the serving stage needs flights_delay@production")
    assert f"version {version} was refused by the infrastructure gate: " in message
    assert "over the 0.0001 ms CPU budget" in message
    assert str(project.root) in message and "--dry-run" in message
    shown = capsys.readouterr().out
    assert "refused: flights_delay@production has no version" in shown and "None" not in shown
    assert registry.alias_holder("flights_delay", "production") is None
