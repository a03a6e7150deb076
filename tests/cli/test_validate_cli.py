"""`lakestack validate` as a user types it, and errors printed exactly as raised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _kit import run_cli
from lakestack.templates import scaffold


@pytest.fixture
def flights(tmp_path: Path) -> Path:
    scaffold("flights", tmp_path / "f", name="flights")
    return tmp_path / "f"


def test_square_brackets_of_a_problem_are_printed_not_read_as_markup(
    flights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = flights / "lakestack.yaml"
    file.write_text(file.read_text().replace("in 2 of the last 3 windows", "in 2 of last 3"))
    code, _, err = run_cli(capsys, "validate", "-p", str(flights))
    assert code == 1
    assert "monitors.flights_delay.alerts[0].when" in err
    assert "[on any feature | on <column>] [vs baseline | vs previous]" in err
    assert "[in the latest window | in <n> of the last <m> windows]" in err


def test_an_error_with_brackets_is_printed_whole(
    flights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "tables", "show", "silver.[bold]x", "-p", str(flights))
    assert code == 1
    assert "'silver.[bold]x'" in err and "Traceback" not in err


def test_validate_json_lists_every_problem_with_its_key(
    flights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = flights / "lakestack.yaml"
    text = file.read_text().replace("{retrain: retraining}", "{retrain: retrainig}")
    file.write_text(
        text.replace("    model: flights_delay\n    stage:", "    model: x\n    stage:")
    )
    code, out, _ = run_cli(capsys, "validate", "-p", str(flights), "--json")
    report = json.loads(out)
    assert code == 1 and report["valid"] is False
    assert {p["key"] for p in report["problems"]} == {
        "endpoints.flights_delay.model",
        "monitors.flights_delay.alerts[1].actions[1].retrain",
    }
