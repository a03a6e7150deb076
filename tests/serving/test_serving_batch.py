"""Batch scoring: `lakestack score` over a pinned table version, in Arrow batches."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _serving_kit import FEATURES, Served, frame
from typer.testing import CliRunner

from lakestack.cli import app
from lakestack.errors import ServingError
from lakestack.lake import Lake
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
    args += ["--env", "prod", "--project", str(served.root), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 10
    with pytest.raises(ServingError, match="names no version"):
        parse_model_ref("tiny")
    with pytest.raises(ServingError, match="lacks the input column"):
        score_table(served.project, "tiny@production", "silver.other", "gold.s", "prod")
