"""The CLI through `main`, as a user types it: output, JSON and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from _kit import run_cli
from lakestack import __version__
from lakestack.lake import Lake


@pytest.fixture
def filled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "proj"
    code, _, _ = run_cli(capsys, "init", str(folder))
    assert code == 0
    lake = Lake(folder / ".lakestack" / "dev" / "lake")
    lake.with_context(job="ingest", task="load").append(
        "bronze.flights", {"id": [1, 2, 3], "origin": ["JFK", "LGA", "EWR"]}
    )
    lake.append("bronze.flights", {"id": [4], "origin": ["JFK"]})
    lake.append("silver.weather", {"origin": ["JFK"], "temp": [40.5]})
    return folder


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--version")
    assert (code, out.strip()) == (0, f"lakestack {__version__}")


def test_init_writes_a_valid_commented_project_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "init", str(tmp_path / "new"), "--name", "fraud")
    assert code == 0 and "lakestack.yaml" in out
    text = (tmp_path / "new" / "lakestack.yaml").read_text()
    assert "name: fraud" in text and "# environments:" in text
    assert run_cli(capsys, "validate", "-p", str(tmp_path / "new"))[0] == 0
    code, _, err = run_cli(capsys, "init", str(tmp_path / "new"))
    assert code == 1 and "already exists; pass --force" in err


def test_init_flights_template_brings_the_example_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "init", str(tmp_path / "f"), "--template", "flights")[0] == 0
    assert (tmp_path / "f" / "flights_ml" / "ingest.py").is_file()
    assert run_cli(capsys, "validate", "-p", str(tmp_path / "f"))[0] == 0


def test_validate_lists_every_problem_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "lakestack.yaml").write_text(
        "project: {name: p, x: 1}\njobs:\n  j:\n    tasks: [{name: t, run: nope}]\n"
    )
    code, _, err = run_cli(capsys, "validate", "-p", str(tmp_path))
    assert code == 1
    assert "2 problem(s)" in err
    assert "project.x" in err and "jobs.j.tasks[0].run" in err
    code, out, _ = run_cli(capsys, "validate", "-p", str(tmp_path), "--json")
    report = json.loads(out)
    assert code == 1 and report["valid"] is False
    assert {p["key"] for p in report["problems"]} == {"project.x", "jobs.j.tasks[0].run"}


def test_tables_list_show_history_preview(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "tables", "list", "-p", str(filled), "--json")
    listing = {t["name"]: t for t in json.loads(out)}
    assert code == 0
    assert (listing["bronze.flights"]["rows"], listing["bronze.flights"]["version"]) == (4, 1)
    assert listing["silver.weather"]["rows"] == 1
    code, out, _ = run_cli(capsys, "tables", "list", "-p", str(filled))
    assert code == 0 and "bronze.flights" in out and "silver.weather" in out

    code, out, _ = run_cli(capsys, "tables", "show", "bronze.flights", "-p", str(filled), "--json")
    shown = json.loads(out)
    assert shown["columns"] == [
        {"name": "id", "type": "int64"},
        {"name": "origin", "type": "string"},
    ]

    code, out, _ = run_cli(
        capsys, "tables", "history", "bronze.flights", "-p", str(filled), "--json"
    )
    commits = json.loads(out)
    assert [c["version"] for c in commits] == [1, 0]
    assert commits[1]["metadata"]["job"] == "ingest"
    code, out, _ = run_cli(capsys, "tables", "history", "bronze.flights", "-p", str(filled))
    assert "ingest/load" in out

    code, out, _ = run_cli(
        capsys, "tables", "preview", "bronze.flights@0", "-p", str(filled), "--json"
    )
    assert [r["id"] for r in json.loads(out)] == [1, 2, 3]
    code, out, _ = run_cli(
        capsys,
        "tables",
        "preview",
        "bronze.flights",
        "-n",
        "2",
        "--columns",
        "origin",
        "-p",
        str(filled),
        "--json",
    )
    assert len(json.loads(out)) == 2 and set(json.loads(out)[0]) == {"origin"}


def test_user_errors_exit_1_with_one_paragraph_and_no_traceback(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "tables", "show", "silver.nope", "-p", str(filled))
    assert code == 1
    assert "silver.nope does not exist" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "tables", "preview", "Bad-Name", "-p", str(filled))
    assert code == 1 and "invalid table name 'Bad-Name'" in err
    code, _, err = run_cli(capsys, "tables", "list", "-p", str(filled), "--env", "qa")
    assert code == 1 and "no environment 'qa'" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "tables", "show")[0] == 2
    assert run_cli(capsys, "no-such-command")[0] == 2


def test_console_script_debug_shows_the_traceback(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "lakestack", "tables", "list", "-p", str(tmp_path)]
    plain = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 1
    assert "no lakestack.yaml" in plain.stderr and "Traceback" not in plain.stderr
    debug = subprocess.run(
        [*cmd[:3], "--debug", *cmd[3:]], capture_output=True, text=True, timeout=120
    )
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr
