"""`lakestack tables optimize|vacuum` as a user types them: output, JSON and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _kit import run_cli
from lakestack.lake import Lake


@pytest.fixture
def small_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "proj"
    assert run_cli(capsys, "init", str(folder))[0] == 0
    lake = Lake(folder / ".lakestack" / "dev" / "lake")
    for i in range(4):
        lake.append("inference.flights", {"request_id": [f"r{i}"], "score": [i / 10]})
    return folder


def test_tables_optimize_compacts_and_says_what_it_did(
    small_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        capsys, "tables", "optimize", "inference.flights", "-p", str(small_files)
    )
    assert code == 0
    assert "optimized inference.flights: 4 files" in out and "rewritten as 1" in out
    code, out, _ = run_cli(
        capsys, "tables", "optimize", "inference.flights", "-p", str(small_files), "--json"
    )
    assert code == 0 and json.loads(out)["committed"] is False
    code, out, _ = run_cli(
        capsys, "tables", "optimize", "inference.flights", "-p", str(small_files)
    )
    assert "needs no compaction" in out
    code, out, _ = run_cli(
        capsys,
        "tables",
        "optimize",
        "inference.flights",
        "--zorder-by",
        "score",
        "-p",
        str(small_files),
        "--json",
    )
    assert code == 0 and json.loads(out)["zorder_by"] == ["score"]
    lake = Lake(small_files / ".lakestack" / "dev" / "lake")
    ops = [c.metadata["operation"] for c in lake.history("inference.flights", limit=2)]
    assert ops == ["optimize", "optimize"]


def test_tables_optimize_of_an_unknown_column_or_table_exits_1(
    small_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(
        capsys,
        "tables",
        "optimize",
        "inference.flights",
        "--zorder-by",
        "nope",
        "-p",
        str(small_files),
    )
    assert code == 1 and "cannot Z-order by nope" in err and "request_id, score" in err
    code, _, err = run_cli(capsys, "tables", "optimize", "silver.none", "-p", str(small_files))
    assert code == 1 and "silver.none does not exist" in err and "lakestack tables list" in err


def test_tables_vacuum_dry_run_then_force(
    small_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run_cli(capsys, "tables", "optimize", "inference.flights", "-p", str(small_files))[0] == 0
    )
    code, out, _ = run_cli(capsys, "tables", "vacuum", "inference.flights", "-p", str(small_files))
    assert code == 0 and "deleted 0 file(s)" in out
    args = ("tables", "vacuum", "inference.flights", "--retain-hours", "0", "-p", str(small_files))
    code, _, err = run_cli(capsys, *args)
    assert code == 1 and "--force" in err and "Traceback" not in err
    code, out, _ = run_cli(capsys, *args, "--force", "--dry-run")
    assert code == 0 and "would delete 4 file(s)" in out and ".parquet" in out
    code, out, _ = run_cli(capsys, *args, "--force", "--json")
    result = json.loads(out)
    assert code == 0 and len(result["files"]) == 4 and result["dry_run"] is False
    lake = Lake(small_files / ".lakestack" / "dev" / "lake")
    assert lake.read("inference.flights").num_rows == 4
    assert lake.history("inference.flights", limit=1)[0].metadata["operation"] == "vacuum"
    assert run_cli(capsys, "tables", "vacuum", "inference.flights", "--retain-hours", "-1")[0] == 2


def test_tables_history_shows_whole_run_ids(
    small_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = Lake(small_files / ".lakestack" / "dev" / "lake")
    # two runs started in the same second share their first 15 characters
    first, second = "20260101-120000-a1b2c3", "20260101-120000-d4e5f6"
    lake.with_context(run_id=first, job="score").append("inference.flights", {"score": [0.5]})
    lake.with_context(run_id=second, job="score").append("inference.flights", {"score": [0.6]})
    code, out, _ = run_cli(capsys, "tables", "history", "inference.flights", "-p", str(small_files))
    assert code == 0 and first in out and second in out
    code, out, _ = run_cli(
        capsys,
        "tables",
        "history",
        "inference.flights",
        "--limit",
        "2",
        "-p",
        str(small_files),
        "--json",
    )
    assert [c["metadata"]["run_id"] for c in json.loads(out)] == [second, first]
