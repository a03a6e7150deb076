"""`lakestack lineage table` of a table nobody wrote, and of one written outside any run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _kit import run_cli
from lakestack.config import load_project
from lakestack.errors import TableNotFoundError
from lakestack.lake import Lake
from lakestack.pipelines import table_lineage


@pytest.fixture
def folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert run_cli(capsys, "init", str(tmp_path / "p"))[0] == 0
    return tmp_path / "p"


def test_lineage_of_an_unknown_table_exits_1_naming_it(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "lineage", "table", "silver.nope", "-p", str(folder))
    assert code == 1 and out == ""
    assert "silver.nope" in err and "lakestack tables list" in err and "Traceback" not in err
    with pytest.raises(TableNotFoundError, match=r"silver\.nope .*'dev' lake"):
        table_lineage(load_project(folder), "silver.nope", env="dev")


def test_lineage_of_a_table_written_outside_runs_is_empty_not_an_error(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Lake.for_environment(load_project(folder), "dev").append("bronze.manual", {"x": [1]})
    code, out, _ = run_cli(capsys, "lineage", "table", "bronze.manual", "-p", str(folder), "--json")
    lineage = json.loads(out)
    assert code == 0 and lineage["table"] == "bronze.manual" and lineage["writes"] == []
