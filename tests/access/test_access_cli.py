"""`lakestack access ...`, `lakestack audit list` and refusals, through the CLI as typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _kit import run_cli
from _kit.access import write_access_project
from lakestack.access import create_token, read_audit
from lakestack.access._identity import acting_as
from lakestack.config import Project

JOBS = {"ingest": {"tasks": [{"name": "load", "run": "nowhere.tasks:load"}]}}


@pytest.fixture
def cli_project(tmp_path: Path) -> Project:
    return write_access_project(tmp_path / "aproj", jobs=JOBS)


def as_(monkeypatch: pytest.MonkeyPatch, principal: str) -> None:
    monkeypatch.delenv("LAKESTACK_TOKEN", raising=False)
    monkeypatch.setenv("LAKESTACK_PRINCIPAL", principal)


def test_a_token_is_shown_once_works_and_stops_working_when_revoked(
    cli_project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    p = str(cli_project.root)
    as_(monkeypatch, "alice")
    code, out, err = run_cli(capsys, "access", "token", "create", "ci", "-p", p, "--env", "staging",
                         "--days", "30", "--name", "github")  # fmt: skip
    assert code == 0 and "shown once" in err
    token = out.strip()
    assert token.startswith("lks_")
    token_id = token.split("_")[1]
    store = (cli_project.root / ".lakestack/staging/lake/system/access_tokens").rglob("*.parquet")
    assert not any(token.encode() in f.read_bytes() for f in store)  # only the hash is kept

    monkeypatch.setenv("LAKESTACK_TOKEN", token)
    monkeypatch.setenv("LAKESTACK_PRINCIPAL", "alice")  # the token wins over a claim
    code, out, _ = run_cli(capsys, "access", "whoami", "-p", p, "--env", "staging", "--json")
    me = json.loads(out)
    assert (code, me["principal"], me["role"], me["verified"]) == (0, "ci", "deployer", True)
    code, _, err = run_cli(capsys, "access", "whoami", "-p", p, "--env", "prod")
    assert code == 1 and "not known in environment 'prod'" in err

    as_(monkeypatch, "alice")
    code, out, _ = run_cli(capsys, "access", "token", "list", "-p", p, "--env", "staging", "--json")
    (listed,) = json.loads(out)
    assert (listed["token_id"], listed["state"], listed["name"]) == (token_id, "active", "github")
    assert token not in out and "sha256" not in listed
    assert run_cli(capsys, "access", "token", "revoke", f"lks_{token_id}", "-p", p,
               "--env", "staging")[0] == 0  # fmt: skip

    monkeypatch.setenv("LAKESTACK_TOKEN", token)
    code, _, err = run_cli(capsys, "trigger", "ingest", "-p", p, "--env", "staging")
    assert code == 1 and "was revoked" in err
    as_(monkeypatch, "alice")
    code, out, _ = run_cli(capsys, "audit", "list", "-p", p, "--env", "staging", "--json")
    actions = [(r["principal"], r["action"], r["outcome"]) for r in json.loads(out)]
    assert actions == [
        ("?", "job.trigger", "denied"),
        ("alice", "access.token", "allowed"),
        ("alice", "access.token", "allowed"),
    ]


def test_an_expired_token_is_refused(
    cli_project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with acting_as("alice"):
        token = create_token(cli_project, "dev1", ["dev"], days=1e-9).token
    monkeypatch.setenv("LAKESTACK_TOKEN", token)
    code, _, err = run_cli(capsys, "trigger", "ingest", "-p", str(cli_project.root), "--env", "dev")
    assert code == 1 and "was expired" in err and "dev1" in err
    (record,) = read_audit(cli_project.environment("dev"), action="job.trigger")
    assert (record.outcome, record.environment) == ("denied", "dev")
    assert "expired" in record.reason


def test_a_reader_cannot_run_or_trigger_jobs_and_is_told_why(
    cli_project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    p = str(cli_project.root)
    as_(monkeypatch, "mallory")
    commands = (("trigger", "ingest"), ("run", "ingest"), ("run", "ingest", "--task", "load",
                "--run-id", "r1"))  # fmt: skip
    for command in commands:
        code, out, err = run_cli(capsys, *command, "-p", p, "--env", "dev")
        assert code == 1 and "Traceback" not in err
        assert "mallory may not" in err and "dev" in err and "developer" in err
    as_(monkeypatch, "dev1")
    code, out, _ = run_cli(capsys, "trigger", "ingest", "-p", p, "--env", "dev")
    assert code == 0
    code, out, _ = run_cli(capsys, "audit", "list", "-p", p, "--env", "dev", "--json",
                       "--principal", "mallory")  # fmt: skip
    assert [(r["action"], r["outcome"]) for r in json.loads(out)] == [
        ("job.run", "denied"),
        ("job.run", "denied"),
        ("job.trigger", "denied"),
    ]
    code, out, _ = run_cli(capsys, "audit", "list", "-p", p, "--env", "dev", "--json",
                       "--action", "job", "--outcome", "allowed")  # fmt: skip
    assert [(r["principal"], r["action"]) for r in json.loads(out)] == [("dev1", "job.trigger")]


def test_only_an_admin_grants_and_the_grant_counts(
    cli_project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    p = str(cli_project.root)
    as_(monkeypatch, "dev1")
    code, _, err = run_cli(
        capsys, "access", "grant", "mallory", "developer", "-p", p, "--env", "dev"
    )
    assert code == 1 and "dev1 may not grant and revoke roles" in err and "admin" in err
    as_(monkeypatch, "alice")
    assert run_cli(capsys, "access", "grant", "mallory", "developer", "-p", p, "--env", "dev",
               "--reason", "on call")[0] == 0  # fmt: skip
    code, out, _ = run_cli(capsys, "access", "list", "-p", p, "--json")
    mallory = next(v for v in json.loads(out) if v["name"] == "mallory")
    assert mallory["roles"]["dev"] == "developer" and mallory["granted"] == {"dev": "developer"}
    as_(monkeypatch, "mallory")
    assert run_cli(capsys, "trigger", "ingest", "-p", p, "--env", "dev")[0] == 0
    as_(monkeypatch, "alice")
    assert run_cli(capsys, "access", "revoke", "mallory", "-p", p, "--env", "dev")[0] == 0
    as_(monkeypatch, "mallory")
    assert run_cli(capsys, "trigger", "ingest", "-p", p, "--env", "dev")[0] == 1


def test_validate_says_whether_roles_are_checked(
    tmp_path: Path, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "validate", "-p", str(project.root))
    assert code == 0 and "single-user" in out
    roles = write_access_project(tmp_path / "roles")
    code, out, _ = run_cli(capsys, "validate", "-p", str(roles.root), "--json")
    assert code == 0 and "5 principal(s), roles checked" in json.loads(out)["access"]


def test_validate_names_a_role_for_an_undeclared_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from _kit.access import PRINCIPALS

    principals = {**PRINCIPALS, "eve": {"roles": {"prd": "reader"}}}
    folder = tmp_path / "bad"
    folder.mkdir()
    doc = {"project": {"name": "bad"}, "access": {"principals": principals, "protected": ["prd"]}}
    (folder / "lakestack.yaml").write_text(json.dumps(doc))
    code, _, err = run_cli(capsys, "validate", "-p", str(folder))
    assert code == 1
    assert "access.principals.eve.roles.prd" in err and "access.protected[0]" in err


def test_validate_refuses_a_control_plane_without_principals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "cp"
    folder.mkdir()
    prod = {"lake": "l", "tracking": "sqlite:///m.db", "online_store": "sqlite:///o.db",
            "control_plane": "http://127.0.0.1:8700"}  # fmt: skip
    doc = {"project": {"name": "cp"}, "environments": {"prod": prod}}
    (folder / "lakestack.yaml").write_text(json.dumps(doc))
    code, _, err = run_cli(capsys, "validate", "-p", str(folder))
    assert code == 1 and "environments.prod.control_plane" in err and "principals" in err
