"""lakestack.yaml: defaults, path resolution, environment variables and every class of error."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakestack.config import PROJECT_FILE, load_project, validate_project_file
from lakestack.errors import ConfigError


def write(folder: Path, text: str) -> Path:
    (folder / PROJECT_FILE).write_text(text)
    return folder


def problems_of(folder: Path) -> dict[str, str]:
    _, problems = validate_project_file(folder)
    return {p.key: p.message for p in problems}


def test_embedded_defaults_when_environments_are_left_out(tmp_path: Path) -> None:
    project = load_project(write(tmp_path, "project: {name: p}\n"))
    assert list(project.environments) == ["dev", "staging", "prod"]
    dev = project.environment("dev")
    assert dev.lake_root == str(tmp_path / ".lakestack" / "dev" / "lake")
    assert dev.tracking_uri == f"sqlite:///{tmp_path}/.lakestack/dev/mlflow.db"
    assert dev.online_store == f"sqlite:///{tmp_path}/.lakestack/dev/online.db"
    assert dev.engine == "local"
    assert project.environment("prod").grants.read == ["dev", "staging"]
    assert project.environment().name == "dev"


def test_relative_paths_resolve_against_the_project_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path,
        """
project: {name: p}
environments:
  prod:
    lake: data/lake
    tracking: sqlite:///mlflow.db
    online_store: redis://127.0.0.1:6379/3
  remote:
    lake: s3://bucket/lake/
    tracking: postgresql+psycopg://u@db/mlflow
    online_store: sqlite:////abs/online.db
default_environment: prod
""",
    )
    monkeypatch.chdir("/")
    project = load_project(tmp_path)
    prod = project.environment()
    assert prod.lake_root == str(tmp_path / "data" / "lake")
    assert prod.tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"
    remote = project.environment("remote")
    assert remote.lake_root == "s3://bucket/lake"
    assert remote.online_store == "sqlite:////abs/online.db"


def test_environment_variables_fill_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASS", "s3cret")
    write(
        tmp_path,
        """
project: {name: p}
environments:
  prod:
    lake: lake
    tracking: postgresql+psycopg://ml:${PGPASS}@127.0.0.1/mlflow
    online_store: redis://${REDIS_HOST:-127.0.0.1}:6379/0
""",
    )
    prod = load_project(tmp_path).environment("prod")
    assert prod.tracking_uri == "postgresql+psycopg://ml:s3cret@127.0.0.1/mlflow"
    assert prod.online_store == "redis://127.0.0.1:6379/0"
    monkeypatch.delenv("PGPASS")
    found = problems_of(tmp_path)
    assert "PGPASS is not set" in found["environments.prod.tracking"]


def test_lakestack_env_selects_the_default_environment(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKESTACK_ENV", "staging")
    assert load_project(project_dir).environment().name == "staging"
    with pytest.raises(
        ConfigError, match="no environment 'qa'; declared environments: dev, staging, prod"
    ):
        load_project(project_dir).environment("qa")


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    return write(tmp_path, "project: {name: p}\n")


def test_missing_project_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no lakestack.yaml in .* Run `lakestack init`"):
        load_project(tmp_path)


def test_found_from_a_subfolder(project_dir: Path) -> None:
    sub = project_dir / "a" / "b"
    sub.mkdir(parents=True)
    assert load_project(sub).root == project_dir


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    write(tmp_path, "project:\n  name: [unclosed\n")
    ((key, message),) = problems_of(tmp_path).items()
    assert key.startswith("line ")
    assert "not valid YAML" in message


def test_not_a_mapping(tmp_path: Path) -> None:
    write(tmp_path, "- a\n- b\n")
    assert "must be a mapping" in problems_of(tmp_path)[""]


def test_every_error_at_once_with_key_paths_and_fixes(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
project:
  name: p
  colour: red
environments:
  dev:
    lake: lake
    tracking: sqlite:///m.db
    online_store: mysql://x
    engine: spark
    grants: {read: [prod]}
default_environment: qa
jobs:
  training:
    tasks:
      - {name: prepare, run: "m:f"}
      - {name: train, run: "m:f", depends_on: [prepare, ghost]}
      - {name: evaluate, run: "evaluate the model", retries: -1}
      - {name: register, run: "m:f", timeot: 3, params_by_env: {qa: {x: 1}}}
  loop:
    schedule: "* *"
    tasks:
      - {name: a, run: "m:f", depends_on: [b]}
      - {name: b, run: "m:f", depends_on: [a]}
  dup:
    tasks:
      - {name: a, run: "m:f"}
      - {name: a, run: "m:f"}
  empty:
    tasks: []
endpoints:
  api: {stage: production}
""",
    )
    found = problems_of(tmp_path)
    expected = {
        "project.colour": "unknown key; keys allowed here: name, description",
        "environments.dev.online_store": "write sqlite:///path/online.db or redis://host:6379/0",
        "environments.dev.engine": "write local, ray or ray://host:port",
        "environments.dev.grants.read[0]": "'prod' is not a declared environment; use one of dev",
        "default_environment": "'qa' is not a declared environment",
        "jobs.training.tasks[1].depends_on": "depends on unknown task(s) ghost",
        "jobs.training.tasks[2].run": "is not of the form module:function",
        "jobs.training.tasks[2].retries": "greater than or equal to 0",
        "jobs.training.tasks[3].timeot": "did you mean 'timeout'?",
        "jobs.training.tasks[3].params_by_env.qa": "'qa' is not a declared environment",
        "jobs.loop.schedule": "is not a 5-field cron expression",
        "jobs.loop.tasks[0].depends_on": "tasks form a cycle: a -> b -> a",
        "jobs.dup.tasks": "task names must be unique; repeated: a",
        "jobs.empty.tasks": "at least 1 item",
        "endpoints.api.model": "is required; add it",
    }
    for key, text in expected.items():
        assert key in found, f"no problem reported at {key}; got {sorted(found)}"
        assert text in found[key], f"{key}: {found[key]!r} lacks {text!r}"
    assert len(found) == len(expected), sorted(set(found) - set(expected))
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path)
    assert len(info.value.problems) == len(expected)
    assert all(str(tmp_path / PROJECT_FILE) in p for p in info.value.problems)


def test_bad_names_are_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        "project: {name: 'my project'}\njobs:\n  'bad job':\n    tasks: [{name: t, run: 'm:f'}]\n",
    )
    found = problems_of(tmp_path)
    assert "is not a valid name" in found["project.name"]
    assert "'bad job' is not a valid name" in found["jobs"]
