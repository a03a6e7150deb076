"""schemathesis against the control plane's own OpenAPI document: no answer is a 5xx, with an
admin's token or with none, and every write route refuses a caller without a token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from _kit.access import write_access_project
from _kit.fuzz import fuzz_settings
from lakestack.access import acting_as, create_token
from lakestack.control_plane import create_app

WRITES = ("post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, mlflow_db: Path) -> Any:
    root = tmp_path_factory.mktemp("fuzz") / "proj"
    jobs = {"ingest": {"tasks": [{"name": "load", "run": "nowhere:load"}]}}
    project = write_access_project(root, mlflow_db=mlflow_db, jobs=jobs)
    with acting_as("alice"):
        token = create_token(project, "alice", ["dev", "staging", "prod"]).token
    app = create_app(project)
    return app, token


def operations(app: Any) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def fuzz(operation: Any, headers: dict[str, str]) -> set[int]:
    """Call one operation with derandomized generated requests; the statuses it answered."""
    statuses: set[int] = set()

    strategy = operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE)

    @given(case=strategy)
    @fuzz_settings(16)
    def run(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
        statuses.add(response.status_code)

    run()
    return statuses


@pytest.mark.parametrize("authenticated", [True, False], ids=["admin-token", "no-token"])
def test_no_operation_answers_a_server_error(fuzzed: Any, authenticated: bool) -> None:
    app, token = fuzzed
    headers = {"Authorization": f"Bearer {token}"} if authenticated else {}
    seen: dict[str, set[int]] = {}
    for operation in operations(app):
        seen[operation.label] = fuzz(operation, headers)
    assert len(seen) >= 25, sorted(seen)
    statuses = set().union(*seen.values())
    assert seen["GET /health"] == {200}
    if authenticated:
        assert {200, 422} <= statuses and statuses & {400, 404}, statuses
    else:
        # with a bearer header schemathesis made up: 404 for an environment it does not
        # govern, 422 for a body that is not JSON and 400 for one that is not UTF-8 (read
        # before the token is checked)
        odd = {label: codes - {200, 400, 401, 404, 422} for label, codes in seen.items()}
        assert not any(odd.values()), {label: codes for label, codes in odd.items() if codes}
        # and without a valid token nothing but the health route answers
        assert {label for label, codes in seen.items() if 200 in codes} == {"GET /health"}


def test_every_write_route_refuses_a_caller_without_a_token(fuzzed: Any) -> None:
    app, _ = fuzzed
    document = app.openapi()
    client = TestClient(app)
    writes = [
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in WRITES
    ]
    assert len(writes) >= 10, writes
    for method, path in writes:
        url = path.format(
            env="prod",
            model="delay",
            version=1,
            job="ingest",
            name="ingest",
            table="features.x",
            monitor="m",
            endpoint="e",
            principal="ci",
            token_id="abc",
        )
        response = client.request(method.upper(), url, json={})
        assert response.status_code in (401, 403), (method, path, response.status_code)
        if response.status_code == 401:
            assert response.headers["www-authenticate"] == "Bearer"
