"""Fuzz `POST /invocations` with schemathesis from the endpoint's own OpenAPI document: a real
`lakestack serve` on 127.0.0.1, 50 derandomized examples, and no answer may be a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from _serving_kit import Served, stopped_gracefully
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error

from lakestack.serving import ServerProcess


@pytest.fixture(scope="module")
def fuzz_schema(tmp_path_factory: pytest.TempPathFactory, mlflow_db: Path) -> Iterator[Any]:
    served = Served(tmp_path_factory.mktemp("fuzz"), mlflow_db)
    served.log_sklearn()
    project = served.configure()
    server = ServerProcess.lakestack_serve(project.root, "tiny", "prod").start()
    try:
        yield schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    finally:
        assert stopped_gracefully(server)


def test_invocations_never_answers_a_server_error(fuzz_schema: Any) -> None:
    # hypothesis drives the operation's strategy here: schemathesis' own pytest plugin
    # (`from_fixture(...).parametrize()`) fails on this pytest version
    operation = fuzz_schema["/invocations"]["POST"]
    seen: list[int] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=50,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        response = case.call_and_validate(checks=[not_a_server_error])
        seen.append(response.status_code)

    fuzz()
    assert len(seen) >= 20, seen
    assert 200 in seen or 422 in seen, sorted(set(seen))  # some bodies reached the model
