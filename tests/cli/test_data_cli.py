"""`lakestack data profile|validate` on a real lake."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from _kit import run_cli
from lakestack.lake import Lake


@pytest.fixture
def proj(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "p"
    assert run_cli(capsys, "init", str(folder))[0] == 0
    rng = np.random.default_rng(1)
    n = 4000
    Lake(folder / ".lakestack" / "dev" / "lake").append(
        "silver.obs",
        {
            "month": np.repeat([1, 7], n // 2),
            "temp": np.concatenate([rng.normal(35, 5, n // 2), rng.normal(80, 5, n // 2)]),
            "origin": rng.choice(["JFK", "LGA", "EWR"], n),
        },
    )
    return folder


def test_profile_then_validate_finds_drift_and_range_anomalies(
    proj: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = proj / "winter.json"
    code, out, _ = run_cli(
        capsys,
        "data",
        "profile",
        "silver.obs",
        "--where",
        "month = 1",
        "--out",
        str(base),
        "-p",
        str(proj),
    )
    assert code == 0 and "2,000 rows" in out and base.is_file()

    validate = ("data", "validate", "--baseline", str(base), "-p", str(proj))
    code, out, _ = run_cli(capsys, *validate, "silver.obs", "--where", "month = 1", "--json")
    same = json.loads(out)
    assert code == 0
    assert same["drift"]["columns"] and not [c for c in same["drift"]["columns"] if c["drifted"]]

    html = proj / "report.html"
    july = ("--where", "month = 7")
    code, out, _ = run_cli(capsys, *validate, "silver.obs@0", *july, "--html", str(html), "--json")
    summer = json.loads(out)
    assert code == 1  # temperatures far outside the winter range are a FAIL
    drifted = {c["column"] for c in summer["drift"]["columns"] if c["drifted"]}
    assert "temp" in drifted and "origin" not in drifted
    assert any(
        a["column"] == "temp" and a["kind"] == "out_of_range"
        for a in summer["anomalies"]["anomalies"]
    )
    assert "<svg" in html.read_text() and html.with_suffix(".anomalies.html").is_file()

    code, out, _ = run_cli(capsys, *validate, "silver.obs", *july)
    assert code == 1 and "temp" in out and "out_of_range" in out


def test_bad_input_is_named(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(
        capsys,
        "data",
        "validate",
        "silver.obs",
        "--baseline",
        str(proj / "none.json"),
        "-p",
        str(proj),
    )
    assert code == 1 and "none.json does not exist" in err and "lakestack data profile" in err
    profile = ("data", "profile", "silver.obs", "--out", str(proj / "b.json"), "-p", str(proj))
    code, _, err = run_cli(capsys, *profile, "--where", "month >")
    assert code == 1 and "--where 'month >' is not a valid SQL condition" in err
    code, _, err = run_cli(capsys, *profile, "--where", "month = 3")
    assert code == 1 and "has no rows matching" in err
