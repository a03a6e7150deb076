"""`lakestack init` on the user's data: what it reads from the data, what it writes, its errors,
its prompts in a terminal, and `--ci-only`."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import yaml
from _data_kit import binary, multiclass, regression, write

from lakestack.cli import main
from lakestack.config import load_project, validate_project_file
from lakestack.deploy import init_project, inspect_data
from lakestack.errors import DeployError
from lakestack.lake import Lake


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_the_inspection_gives_each_column_a_role() -> None:
    profile = inspect_data(binary(500), source="customers.parquet", label="churned")
    roles = {c.name: (c.type, c.role) for c in profile.columns}
    assert roles == {
        "customer_id": ("string", "id"),
        "signup_ts": ("timestamp", "time"),
        "tenure_months": ("float64", "numeric"),
        "monthly_charges": ("float64", "numeric"),
        "support_calls": ("float64", "numeric"),
        "plan": ("string", "categorical"),
        "region": ("string", "categorical"),
        "notes": ("string", "ignored"),
        "churned": ("bool", "label"),
    }
    assert profile.problem == "binary" and profile.time_column == "signup_ts"
    assert profile.classes == [False, True] and abs(sum(profile.class_shares) - 1) < 1e-9
    assert 0 < profile.prior_log_loss < 0.7
    accounts = inspect_data(multiclass(300), source="a.csv", label="segment")
    assert (accounts.problem, accounts.classes) == ("multiclass", ["bronze", "gold", "silver"])
    assert accounts.named("id") == ["account_id"] and accounts.time_column == "opened"
    flats = inspect_data(regression(300), source="f.parquet", label="price")
    assert (flats.problem, flats.time_column, flats.named("id")) == ("regression", None, [])
    assert flats.label_std is not None and flats.label_std > 0


def test_the_inspection_says_what_it_cannot_tell() -> None:
    data = binary(200).with_columns(stars=pl.Series([1, 2, 3, 4, 5] * 40))
    with pytest.raises(
        DeployError, match=r"--label nope: .* no such column; its columns: customer_id"
    ):
        inspect_data(data, source="c.parquet", label="nope")
    with pytest.raises(DeployError, match="5 distinct whole numbers: classes or counts"):
        inspect_data(data, source="c.parquet", label="stars")
    assert (
        inspect_data(data, source="c", label="stars", problem="multiclass").problem == "multiclass"
    )
    with pytest.raises(DeployError, match="--problem binary: the label 'stars' has 5 distinct"):
        inspect_data(data, source="c.parquet", label="stars", problem="binary")
    with pytest.raises(DeployError, match="--problem: unknown problem type 'classification'"):
        inspect_data(data, source="c.parquet", label="churned", problem="classification")
    with pytest.raises(DeployError, match="--time-column when: .* no such column"):
        inspect_data(data, source="c.parquet", label="churned", time_column="when")
    only_label = pl.DataFrame({"y": [0.5, 1.5, 2.5], "k": [1, 1, 1]})
    with pytest.raises(DeployError, match="no column to learn from .* k: one value only"):
        inspect_data(only_label, source="y.csv", label="y")


def test_init_writes_a_valid_project_with_gates_sized_from_the_data(tmp_path: Path) -> None:
    data = write(regression(400), tmp_path / "data" / "flats.csv")
    result = init_project(tmp_path / "Flat Prices", data=str(data), label="price", ci="gitlab")
    folder = result.folder
    assert result.package == "flat_prices_ml" and (folder / ".gitlab-ci.yml").is_file()
    assert sorted(result.files) == sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
    )
    assert validate_project_file(folder)[1] == []
    project = load_project(folder)
    gates = project.config.models["flat_prices"].gates
    std = result.profile.label_std
    assert std is not None and gates.thresholds is not None
    assert [str(r) for r in gates.thresholds.rules] == [f"rmse <= {float(f'{std:.4g}'):g}"]
    assert project.config.models["flat_prices"].problem == "regression"
    assert project.config.jobs["ingest"].tasks[0].params["source"] == str(data)
    assert project.config.deploy["prod"].refs == ["v*", "release"]
    assert sorted(project.environments) == ["dev", "prod", "staging", "test"]
    # no id: the monitor has no labels and no quality rule; no time: windows on request time
    monitor = project.config.monitors["flat_prices"]
    assert monitor.labels is None and monitor.time_column == "ts"
    assert [a.name for a in monitor.alerts] == ["feature_drift"]
    sample = pl.read_parquet(folder / "tests" / "data" / "sample.parquet")
    assert sample.height == 400 and sample.columns == list(regression(1).columns)
    with pytest.raises(DeployError, match="already exists; pass --force"):
        init_project(folder, data=str(data), label="price")


def test_a_data_file_inside_the_project_stays_out_of_git(tmp_path: Path) -> None:
    folder = tmp_path / "churn"
    data = write(binary(300), folder / "data" / "customers.parquet")
    result = init_project(folder, data=str(data), label="churned", ci="none")
    assert "data/" in (folder / ".gitignore").read_text().splitlines()
    assert load_project(folder).config.jobs["ingest"].tasks[0].params["source"] == (
        "data/customers.parquet"
    )
    assert not (folder / ".github").exists() and not (folder / ".gitlab-ci.yml").exists()
    assert "tests/data/sample.parquet" in result.files


def test_init_reads_a_table_of_the_project_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "init", str(tmp_path / "lakehouse"))[0] == 0
    lake = Lake.for_environment(load_project(tmp_path / "lakehouse"), "dev")
    lake.append("silver.customers", binary(300).to_arrow())
    monkeypatch.chdir(tmp_path / "lakehouse")
    code, out, _ = run(
        capsys, "init", str(tmp_path / "churn"), "--data", "silver.customers", "--label", "churned"
    )
    assert code == 0 and "300 rows, binary" in out
    source = load_project(tmp_path / "churn").config.jobs["ingest"].tasks[0].params["source"]
    assert source == lake.path("silver.customers")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "init", "x", "--data", "silver.customers", "--label", "churned")
    assert code == 1 and "no lakestack.yaml here to find its lake" in err


def test_init_errors_are_one_paragraph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "init", str(tmp_path / "p"), "--data", "missing.csv", "--label", "y")
    assert code == 1 and "--data missing.csv: no such file or folder" in err
    code, _, err = run(capsys, "init", str(tmp_path / "p"), "--label", "y")
    assert code == 1 and "--data and --label go together" in err
    data = write(binary(100), tmp_path / "c.parquet")
    code, _, err = run(
        capsys,
        "init",
        str(tmp_path / "p"),
        "--data",
        str(data),
        "--label",
        "churned",
        "--ci",
        "jenkins",
    )
    assert code == 1 and "--ci jenkins: choose one of github, gitlab, none" in err
    assert "Traceback" not in err


def test_ci_only_adds_workflows_to_an_existing_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "flights"
    assert run(capsys, "init", str(folder), "--template", "flights")[0] == 0
    code, out, _ = run(capsys, "init", str(folder), "--ci-only", "--ci", "github")
    assert code == 0 and "ci.yml" in out
    ci = yaml.safe_load((folder / ".github" / "workflows" / "ci.yml").read_text())
    steps = {s.get("name"): s.get("run", "") for s in ci["jobs"]["test"]["steps"]}
    assert steps["Install"] == 'python -m pip install "lakestack==0.1.0" pytest'
    assert "Lint" not in steps and "Unit tests" not in steps  # no requirements, no tests
    staging = (folder / ".github" / "workflows" / "cd-staging.yml").read_text()
    assert "lakestack deploy --env staging --run ingest --run training" in staging
    code, _, err = run(capsys, "init", str(folder), "--ci-only", "--ci", "github")
    assert code == 1 and "already exists; pass --force" in err
    assert run(capsys, "init", str(folder), "--ci-only", "--ci", "gitlab")[0] == 0


def _answer(fd: int, prompt: str, reply: str, seen: list[str]) -> None:
    deadline = time.monotonic() + 120
    while prompt not in "".join(seen):
        assert time.monotonic() < deadline, f"no prompt {prompt!r}; got {''.join(seen)!r}"
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            seen.append(os.read(fd, 65536).decode(errors="replace"))
    seen.clear()
    os.write(fd, reply.encode() + b"\r")


def test_init_in_a_terminal_without_options_asks(tmp_path: Path) -> None:
    data = write(multiclass(300), tmp_path / "accounts.csv")
    primary, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lakestack", "init", "accounts"],
        cwd=tmp_path,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
    )
    os.close(secondary)
    seen: list[str] = []
    try:
        _answer(primary, "Data to learn from", str(data), seen)
        _answer(primary, "Column to predict", "segment", seen)
        _answer(primary, "Problem type", "", seen)  # the default: inferred, multiclass
        _answer(primary, "Column ordering the rows", "", seen)  # the default: opened
        _answer(primary, "CI/CD workflows", "gitlab", seen)
        assert process.wait(timeout=300) == 0
    finally:
        process.kill()
        os.close(primary)
    project = load_project(tmp_path / "accounts")
    assert project.config.models["accounts"].problem == "multiclass"
    assert project.config.monitors["accounts"].time_column == "opened"
    assert (tmp_path / "accounts" / ".gitlab-ci.yml").is_file()
    settings = (tmp_path / "accounts" / "accounts_ml" / "settings.py").read_text()
    assert 'LABEL = "segment"' in settings and json.dumps("opened") in settings
