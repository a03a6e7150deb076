"""Real HTTP against a running `lakestack server`: tokens, roles, and the audit of both."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from lakestack.access import read_audit

if TYPE_CHECKING:
    from conftest import Plane

TIMEOUT = 120  # seconds: a loaded machine answers slowly, never wrongly


def test_the_health_route_is_open_and_every_other_route_needs_a_token(plane: Plane) -> None:
    assert httpx.get(plane.url + "/health", timeout=TIMEOUT).json()["status"] == "ok"
    response = httpx.get(plane.api("prod", "/tables"), timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    deployments = httpx.get(
        plane.api("prod", "/deployments"), headers=plane.headers("dev1", "prod"), timeout=TIMEOUT
    )
    assert (deployments.status_code, deployments.json()) == (200, [])  # nothing deployed yet
    bad = httpx.get(
        plane.api("prod", "/tables"), headers={"Authorization": "Bearer lks_x_y"}, timeout=TIMEOUT
    )
    assert bad.status_code == 401 and "not known" in bad.json()["detail"]


def test_a_reader_cannot_write(plane: Plane) -> None:
    response = httpx.post(
        plane.api("dev", "/triggers/ingest"),
        headers=plane.headers("mallory", "dev"),
        timeout=TIMEOUT,
    )
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "AccessDeniedError"
    for part in ("mallory", "trigger jobs", "dev", "reader", "developer"):
        assert part in body["detail"]
    read = httpx.get(
        plane.api("dev", "/tables"), headers=plane.headers("mallory", "dev"), timeout=TIMEOUT
    )
    assert read.status_code == 200
    (record,) = read_audit(plane.project.environment("dev"), principal="mallory")
    assert (record.action, record.outcome, record.origin) == (
        "job.trigger",
        "denied",
        "http 127.0.0.1",
    )


def test_a_developer_cannot_promote_to_production_in_prod_and_a_deployer_can(
    plane: Plane,
) -> None:
    body = {"version": plane.version, "to": "production", "reason": "release"}
    url = plane.api("prod", f"/models/{plane.model}/promote")
    refused = httpx.post(url, json=body, headers=plane.headers("dev1", "prod"), timeout=120)
    assert refused.status_code == 403
    assert "dev1 may not promote models to production" in refused.json()["detail"]
    done = httpx.post(url, json=body, headers=plane.headers("dep1", "prod"), timeout=120)
    assert done.status_code == 200, done.text
    assert done.json()["applied"] is True
    models = httpx.get(
        plane.api("prod", "/models"), headers=plane.headers("dev1", "prod"), timeout=TIMEOUT
    )
    (model,) = [m for m in models.json() if m["name"] == plane.model]
    assert model["aliases"]["production"] == plane.version
    audit = httpx.get(
        plane.api("prod", "/audit"),
        params={"action": "model.promote"},
        headers=plane.headers("dev1", "prod"),
        timeout=TIMEOUT,
    ).json()
    assert [(r["principal"], r["outcome"]) for r in audit] == [
        ("dep1", "allowed"),
        ("dev1", "denied"),
    ]


def test_a_revoked_or_expired_token_is_refused(plane: Plane) -> None:
    admin = plane.headers("alice", "staging")
    created = httpx.post(
        plane.api("staging", "/access/tokens"),
        json={"principal": "dev1", "days": 1, "name": "laptop"},
        headers=admin,
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    token_id = created.json()["records"][0]["token_id"]
    mine = {"Authorization": f"Bearer {token}"}
    assert (
        httpx.get(plane.api("staging", "/whoami"), headers=mine, timeout=TIMEOUT).json()[
            "principal"
        ]
        == "dev1"
    )
    revoked = httpx.delete(
        plane.api("staging", f"/access/tokens/{token_id}"), headers=admin, timeout=TIMEOUT
    )
    assert revoked.json()["state"] == "revoked"
    response = httpx.get(plane.api("staging", "/whoami"), headers=mine, timeout=TIMEOUT)
    assert response.status_code == 401 and "revoked" in response.json()["detail"]

    from lakestack.access import acting_as, create_token

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAKESTACK_CONTROL_PLANE_FOR", "staging")
        with acting_as("alice"):
            short = create_token(plane.project, "dev1", ["staging"], days=8 / 86400).token
    statuses = poll_statuses(plane.api("staging", "/whoami"), short, until=401, deadline=90)
    assert 200 in statuses  # it worked (once the server's cache of tokens caught up)
    response = httpx.get(
        plane.api("staging", "/whoami"),
        headers={"Authorization": f"Bearer {short}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def poll_statuses(url: str, token: str, *, until: int, deadline: float) -> list[int]:
    """GET `url` with the token until it answers `until` after a 200; every status seen."""
    seen: list[int] = []
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        seen.append(
            httpx.get(
                url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
            ).status_code
        )
        if seen[-1] == until and 200 in seen:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"no {until} after a 200 within {deadline} s: {seen[-20:]}")


def test_ci_deploys_to_staging_and_to_prod_only_once_granted(plane: Plane) -> None:
    staged = httpx.post(
        plane.api("staging", f"/models/{plane.model}/promote"),
        json={"version": 1, "to": "production"},
        headers=plane.headers("ci", "staging"),
        timeout=120,
    )
    assert staged.status_code == 200, staged.text
    rollback = plane.api("prod", f"/models/{plane.model}/rollback")
    refused = httpx.post(rollback, json={}, headers=plane.headers("ci", "prod"), timeout=120)
    assert refused.status_code == 403 and "ci may not roll back production" in refused.text
    grant = httpx.post(
        plane.api("prod", "/access/grants"),
        json={"principal": "ci", "role": "deployer", "reason": "release train"},
        headers=plane.headers("alice", "prod"),
        timeout=TIMEOUT,
    )
    assert grant.status_code == 200 and grant.json()["roles"]["prod"] == "deployer"
    promote = httpx.post(
        plane.api("prod", f"/models/{plane.model}/promote"),
        json={"version": plane.version, "to": "production"},
        headers=plane.headers("ci", "prod"),
        timeout=120,
    )
    assert promote.status_code == 200, promote.text
    records = read_audit(plane.project.environment("prod"), principal="ci")
    assert ("model.rollback.production", "denied") in [(r.action, r.outcome) for r in records]
    staging = read_audit(plane.project.environment("staging"), principal="ci")
    assert ("model.promote.production", "allowed") in [(r.action, r.outcome) for r in staging]


def test_the_cli_sends_prod_writes_to_the_server(
    plane: Plane, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lakestack.cli import main
    from lakestack.errors import AccessDeniedError
    from lakestack.lake import Lake

    monkeypatch.delenv("LAKESTACK_CONTROL_PLANE_FOR", raising=False)
    monkeypatch.setenv("LAKESTACK_PRINCIPAL", "dep1")
    with pytest.raises(AccessDeniedError, match="only through its control plane"):
        Lake.for_environment(plane.project, "prod").append("bronze.x", {"id": [1]})
    monkeypatch.setenv("LAKESTACK_TOKEN", plane.tokens["dep1", "prod"])
    with pytest.raises(SystemExit) as info:
        main(["access", "whoami", "-p", str(plane.project.root), "--env", "prod", "--json"])
    assert info.value.code in (0, None)
    assert '"principal": "dep1"' in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["trigger", "ingest", "-p", str(plane.project.root), "--env", "prod"])
    assert info.value.code in (0, None)
    (record,) = read_audit(plane.project.environment("prod"), action="job.trigger")
    assert (record.principal, record.outcome, record.origin) == (
        "dep1",
        "allowed",
        "http 127.0.0.1",
    )


def test_the_cli_runs_a_prod_job_through_the_server_as_the_tokens_principal(
    plane: Plane, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lakestack.cli import main
    from lakestack.lake import Lake

    monkeypatch.delenv("LAKESTACK_CONTROL_PLANE_FOR", raising=False)
    root = str(plane.project.root)
    monkeypatch.setenv("LAKESTACK_TOKEN", plane.tokens["dev1", "prod"])
    with pytest.raises(SystemExit) as info:
        main(["run", "ingest", "-p", root, "--env", "prod"])
    assert info.value.code == 1
    assert "dev1 may not run jobs" in capsys.readouterr().err
    monkeypatch.setenv("LAKESTACK_TOKEN", plane.tokens["dep1", "prod"])
    with pytest.raises(SystemExit) as info:
        main(["run", "ingest", "-p", root, "--env", "prod", "--json"])
    assert info.value.code in (0, None)
    run = json.loads(capsys.readouterr().out)
    assert run["status"] == "succeeded" and run["trigger"] == "control plane"
    (commit,) = Lake.for_environment(plane.project, "prod").history("bronze.events")
    assert (commit.metadata["principal"], commit.metadata["run_id"]) == ("dep1", run["run_id"])
    runs = read_audit(plane.project.environment("prod"), action="job.run")
    assert [(r.principal, r.outcome) for r in runs] == [("dep1", "allowed"), ("dev1", "denied")]
