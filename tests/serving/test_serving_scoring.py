"""Batch scoring: `lakestack score` over a pinned table version, in Arrow batches."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pandas as pd
import pytest
from _serving_kit import FEATURES, Served, frame
from typer.testing import CliRunner

from lakestack.cli import app
from lakestack.errors import SchemaEvolutionError, ServingError
from lakestack.lake import Lake
from lakestack.pipelines import run_job, table_lineage
from lakestack.serving import parse_model_ref, score_table


def test_score_writes_predictions_with_model_and_source_versions(served: Served) -> None:
    version = served.log_sklearn()
    lake = Lake.for_environment(served.project, "prod")
    x = frame(1000, seed=4)
    x["id"] = np.arange(1000)
    lake.append("silver.rows", x)
    lake.append("silver.rows", frame(7, seed=5).assign(id=-1))  # version 1: not read below
    seen: list[tuple[int, int]] = []
    result = score_table(
        served.project,
        "tiny@production",
        "silver.rows@0",
        "gold.scores",
        "prod",
        batch_rows=300,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert (result.rows, result.source_version, result.model_version) == (1000, 0, version)
    assert seen[-1] == (1000, 1000) and len(seen) == 4
    out = lake.read("gold.scores").to_pandas().sort_values("id")
    want = served.registry.load_model("tiny", version).predict(x[FEATURES])[:, 1]
    assert np.allclose(out["prediction"].to_numpy(), want)
    assert set(out["model_version"]) == {version} and set(out["source_version"]) == {0}
    assert set(out["source_table"]) == {"silver.rows"} and out["score_id"].nunique() == 1


def test_score_cli_and_bad_references(served: Served) -> None:
    served.log_sklearn()
    lake = Lake.for_environment(served.project, "prod")
    lake.append("silver.rows", frame(10))
    lake.append("silver.other", {"a": [1.0]})
    runner = CliRunner()
    args = ["score", "-m", "tiny@production", "-t", "silver.rows", "-o", "gold.s"]
    args += ["--env", "prod", "--project", str(served.root), "--json", "--columns", "x1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 10
    assert json.loads(result.stdout)["engine"] == "local"
    assert lake.read("gold.s").column_names[:2] == ["x1", "prediction"]
    with pytest.raises(ServingError, match="names no version"):
        parse_model_ref("tiny")
    with pytest.raises(ServingError, match="lacks the input column"):
        score_table(served.project, "tiny@production", "silver.other", "gold.s", "prod")


def scored(lake: Lake, table: str) -> pd.DataFrame:
    """The output without the run's own columns, in source order."""
    out = lake.read(table).to_pandas().sort_values("id").reset_index(drop=True)
    return out.drop(columns=["score_id", "scored_at"])


def test_threads_and_small_appends_give_the_same_rows_as_one_thread(served: Served) -> None:
    served.log_sklearn()
    lake = Lake.for_environment(served.project, "prod")
    x = frame(5000, seed=6)
    x["id"] = np.arange(5000)
    lake.append("silver.rows", x)
    common = {"batch_rows": 250, "engine": "local"}
    one = score_table(
        served.project, "tiny@1", "silver.rows", "gold.one", "prod", workers=1, **common
    )
    two = score_table(
        served.project,
        "tiny@1",
        "silver.rows",
        "gold.two",
        "prod",
        workers=2,
        write_rows=1000,
        columns=["id"],
        **common,
    )
    assert (one.workers, two.workers, one.rows, two.rows) == (1, 2, 5000, 5000)
    assert (one.output_version, two.output_version) == (0, 4)  # 5 appends of 1,000 rows
    first, second = scored(lake, "gold.one"), scored(lake, "gold.two")
    run_columns = ["model", "model_version", "source_table", "source_version"]
    assert list(second.columns) == ["id", "prediction", *run_columns]
    pd.testing.assert_frame_equal(first[second.columns], second)
    # the appends keep the source order: after the third, the table holds the first 3,000 ids
    third = lake.read("gold.two@2").to_pandas()
    assert sorted(third["id"]) == list(range(3000))


def test_the_pyfunc_path_and_a_pickled_predictor_agree_with_the_fast_path(
    served: Served,
) -> None:
    import pyarrow as pa

    from lakestack.serving import ServedModel
    from lakestack.serving._scoring import BatchPredictor

    version = served.log_sklearn()
    fast = BatchPredictor.of(ServedModel.wrap(served.registry.load_model("tiny", version)))
    assert fast.thread_safe and fast.names == FEATURES
    batch = pa.RecordBatch.from_pandas(frame(50, seed=8).assign(other=1.0))
    slow = dataclasses.replace(fast, fast=None)
    shipped = pickle.loads(pickle.dumps(slow))  # as to a Ray worker: reloads from the folder
    assert shipped.pyfunc is None and not shipped.thread_safe
    want = fast(batch)
    assert want.shape == (50,)
    assert np.allclose(slow(batch), want) and np.allclose(shipped(batch), want)
    assert np.array_equal(pickle.loads(pickle.dumps(fast))(batch), want)  # the estimator travels


def test_a_failed_append_stops_the_run_and_an_unknown_engine_is_refused(served: Served) -> None:
    served.log_sklearn()
    lake = Lake.for_environment(served.project, "prod")
    lake.append("silver.rows", frame(2000).assign(id=np.arange(2000)))
    lake.append("gold.bad", {"prediction": ["not a number"]})
    with pytest.raises(SchemaEvolutionError, match="prediction"):
        score_table(served.project, "tiny@1", "silver.rows", "gold.bad", "prod", batch_rows=100)
    assert lake.version("gold.bad") == 0
    with pytest.raises(ServingError, match="has no column"):
        score_table(served.project, "tiny@1", "silver.rows", "gold.s", "prod", columns=["nope"])
    with pytest.raises(ServingError, match="local, ray or ray://host:port"):
        score_table(served.project, "tiny@1", "silver.rows", "gold.s", "prod", engine="dask")


SCORING_TASK = """
from lakestack.serving import score_table


def score(ctx):
    result = score_table(
        ctx.project, "tiny@production", "silver.rows@0", "gold.scores", ctx.environment,
        lake=ctx.lake,
    )
    return {"rows": result.rows, "version": result.output_version}
"""


def test_a_scoring_task_records_what_it_read_and_wrote_in_lineage(served: Served) -> None:
    served.log_sklearn()
    jobs = {"batch_inference": {"tasks": [{"name": "score", "run": "scoring_task:score"}]}}
    project = served.configure(jobs=jobs)
    (served.root / "scoring_task.py").write_text(SCORING_TASK)
    lake = Lake.for_environment(project, "prod")
    lake.append("silver.rows", frame(50, seed=8))  # version 0, the one scored
    lake.append("silver.rows", frame(5, seed=9))  # version 1
    result = run_job(project, "batch_inference", env="prod")
    assert result.ok, result.tasks
    assert result.output("score")["rows"] == 50
    lineage = table_lineage(project, "gold.scores", env="prod")
    assert [(e.run_id, e.version) for e in lineage.writes] == [
        (result.run_id, result.output("score")["version"])
    ]
    assert [(e.table, e.version) for e in lineage.upstream] == [("silver.rows", 0)]
    assert table_lineage(project, "silver.rows", env="prod").downstream_tables == ["gold.scores"]
