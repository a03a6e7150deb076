"""`lakestack init --data` on the three problem types: each generated project, in a fresh
virtual environment with lakestack installed from this checkout, passes its own linter and
test suite, and `lakestack run ingest` + `lakestack run training` register a version that
passes its gates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import yaml
from _data_kit import binary, multiclass, regression, write
from _venv_kit import FreshVenv, actionlint

from lakestack.config import load_project
from lakestack.metric_catalog import MODEL_METRICS
from lakestack.registry import ModelRegistry

CASES: dict[str, tuple[Callable[[], pl.DataFrame], str, str, str]] = {
    # problem: (data, file, label, ci)
    "binary": (binary, "customers.parquet", "churned", "github"),
    "multiclass": (multiclass, "accounts.csv", "segment", "github"),
    "regression": (regression, "flats.parquet", "price", "gitlab"),
}


def _check_ci(fresh_venv: FreshVenv, folder: Path, ci: str) -> None:
    if ci == "github":
        workflows = sorted((folder / ".github" / "workflows").glob("*.yml"))
        assert [w.name for w in workflows] == ["cd-prod.yml", "cd-staging.yml", "ci.yml"]
        fresh_venv.run(actionlint(), *workflows, cwd=folder)
        assert not (folder / ".gitlab-ci.yml").exists()
        return
    pipeline = yaml.safe_load((folder / ".gitlab-ci.yml").read_text())
    assert pipeline["stages"] == ["test", "plan", "deploy"]
    scripts = {name: " ".join(job["script"]) for name, job in pipeline.items() if "script" in job}
    assert "python -m pytest -m integration" in scripts["test"]
    assert "lakestack plan --env prod --markdown" in scripts["plan"]
    assert "--run ingest --run training" in scripts["deploy_staging"]
    assert scripts["deploy_prod"].startswith("lakestack deploy --env prod")
    assert not (folder / ".github").exists()


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize(
    "problem",
    [
        "binary",
        "multiclass",  # string class labels, matched to the classes the version records
        "regression",
    ],
)
def test_a_generated_project_passes_its_tests_and_trains_a_gated_model(
    problem: str, fresh_venv: FreshVenv, tmp_path: Path
) -> None:
    make, file, label, ci = CASES[problem]
    data = write(make(), tmp_path / "data" / file)
    folder = tmp_path / f"{problem}_project"
    fresh_venv.run(
        "lakestack", "init", folder, "--data", data, "--label", label, "--ci", ci, cwd=tmp_path
    )
    settings = (folder / f"{problem}_project_ml" / "settings.py").read_text()
    assert f'PROBLEM: Literal["binary", "multiclass", "regression"] = "{problem}"' in settings
    _check_ci(fresh_venv, folder, ci)
    fresh_venv.run("ruff", "check", ".", cwd=folder)
    fresh_venv.run("lakestack", "validate", cwd=folder)
    tests = fresh_venv.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=folder)
    assert "passed" in tests.stdout and "integration" not in tests.stdout.split("passed")[-1]
    assert "skipped" not in tests.stdout and "deselected" not in tests.stdout
    for job in ("ingest", "training"):
        fresh_venv.run("lakestack", "run", job, cwd=folder)
    project = load_project(folder)
    model = f"{problem}_project"
    registry = ModelRegistry(project, "dev")
    staging = registry.alias_holder(model, "staging")
    assert staging is not None and staging.version == 1
    promotion = [t for t in registry.history(model) if t.action == "promote"][-1]
    assert (promotion.outcome, promotion.to_version) == ("applied", 1)
    report = promotion.gate_report()
    assert report is not None and report.passed
    assert any(r.kind == "threshold" and r.passed for r in report.results)
    logged = staging.json_tag("metrics") or {}
    assert sorted(logged) == sorted(MODEL_METRICS[problem])  # the problem's metrics only
