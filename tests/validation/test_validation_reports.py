"""Report rendering: dictionaries, JSON and self-contained HTML pages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from lakestack.validation import (
    DriftReport,
    Schema,
    ValidationReport,
    compute_drift,
    validate,
)
from lakestack.validation._html import bar_chart

MakeFrame = Callable[..., pl.DataFrame]


@pytest.fixture(scope="module")
def drift(baseline: Schema, make_frame: MakeFrame) -> DriftReport:
    return compute_drift(make_frame(seed=1, shift=0.5), baseline)


@pytest.fixture(scope="module")
def failed(frame: pl.DataFrame, baseline: Schema) -> ValidationReport:
    data = frame.drop("city").with_columns(pl.lit("x").alias("<script>alert(1)</script>"))
    return validate(data, baseline)


def assert_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    # Nothing is fetched: no external URL in src, href or CSS url().
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "url(" not in page
    assert "@import" not in page


def test_drift_dict_and_json(drift: DriftReport) -> None:
    data = drift.to_dict()
    assert data["drifted_columns"] == drift.drifted_columns == ["income", "city"]
    assert data["thresholds"]["psi"] == 0.2
    income = next(c for c in data["columns"] if c["column"] == "income")
    assert income["method"] == "psi" and income["drifted"] is True
    assert sum(income["reference"]) == pytest.approx(1.0)
    assert len(income["bins"]) == len(income["current"])
    assert json.loads(drift.to_json()) == data


def test_validation_dict_and_json(failed: ValidationReport) -> None:
    data = failed.to_dict()
    assert data["passed"] is False
    assert (data["errors"], data["warnings"]) == (1, 1)
    kinds = [a["kind"] for a in data["anomalies"]]
    assert kinds == ["missing_column", "unexpected_column"]
    assert data["anomalies"][0]["severity"] == "fail"
    assert json.loads(failed.to_json(indent=2)) == data


def test_drift_html_page(drift: DriftReport, tmp_path: Path) -> None:
    path = tmp_path / "drift.html"
    page = drift.to_html(path)
    assert path.read_text(encoding="utf-8") == page
    assert_self_contained(page)
    # One chart per column: drifted ones first, the others folded away.
    assert page.count("<svg") == len(drift.columns)
    assert page.index("<h3>income") < page.index("<details>") < page.index("<h3>age")
    assert "seen_at</b>: no drift measure for timestamp columns" in page


def test_validation_html_page_escapes_names(failed: ValidationReport, tmp_path: Path) -> None:
    page = failed.to_html(tmp_path / "validation.html")
    assert_self_contained(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "FAILED" in page and "missing_column" in page


def test_clean_validation_page(frame: pl.DataFrame, baseline: Schema) -> None:
    page = validate(frame, baseline).to_html()
    assert "PASSED" in page and "No anomalies in 7 columns" in page


def test_chart_merges_small_bins_past_25() -> None:
    labels = [f"v{i}" for i in range(40)]
    shares = [1 / 40] * 40
    svg = bar_chart(labels, shares, shares)
    assert svg.count("<rect") == 2 * 25
    assert "(rest)" in svg


def test_docs_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = Path(__file__).parents[2] / "docs" / "validation.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S)
    example = blocks[-1]
    monkeypatch.chdir(tmp_path)
    exec(compile(example, str(doc), "exec"), {"__name__": "docs_example"})
    assert (tmp_path / "drift.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
