"""Fuzz `POST /invocations` with schemathesis from the endpoint's own OpenAPI document, on a
real `lakestack serve` on 127.0.0.1 serving a model with every column type: bodies the
document allows are answered 200, bodies that break it 4xx, and none 5xx (derandomized,
bounded examples)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from _serving_kit import EVERY_TYPE as TYPES
from _serving_kit import Served, stopped_gracefully
from hypothesis import given
from schemathesis import GenerationMode

from _kit.fuzz import fuzz_settings
from lakestack.serving import ServerProcess

OPTIONAL = frozenset({"flag", "ratio", "name", "blob", "when"})
CONTEXT = {"flight_id": "string", "sched_dep_ts": "timestamp"}


@pytest.fixture(scope="module")
def fuzz_schema(tmp_path_factory: pytest.TempPathFactory, mlflow_db: Path) -> Iterator[Any]:
    served = Served(tmp_path_factory.mktemp("fuzz"), mlflow_db)
    served.log_typed(TYPES, optional=OPTIONAL)
    project = served.configure(allow_missing=True, context_columns=CONTEXT)
    server = ServerProcess.lakestack_serve(project.root, "tiny", "prod").start()
    try:
        yield schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    finally:
        assert stopped_gracefully(server)


def _fuzz(
    fuzz_schema: Any, mode: GenerationMode, media_type: str, check: Callable[[Any, Any], None]
) -> list[int]:
    # hypothesis drives the operation's strategy here: schemathesis' own pytest plugin
    # (`from_fixture(...).parametrize()`) fails on this pytest version
    operation = fuzz_schema["/invocations"]["POST"]
    seen: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode, media_type=media_type))
    @fuzz_settings(60)
    def fuzz(case: Any) -> None:
        response = case.call()
        check(case, response)
        seen.append(response.status_code)

    fuzz()
    return seen


def _accepted(case: Any, response: Any) -> None:
    assert response.status_code == 200, (case.body, response.text)


def _refused(case: Any, response: Any) -> None:
    assert 400 <= response.status_code < 500, (case.body, response.text)


@pytest.mark.parametrize("media_type", ["application/json", "text/csv"])
def test_every_body_the_document_allows_is_answered(fuzz_schema: Any, media_type: str) -> None:
    seen = _fuzz(fuzz_schema, GenerationMode.POSITIVE, media_type, _accepted)
    assert len(seen) >= 20, seen


def test_every_body_the_document_refuses_gets_a_4xx(fuzz_schema: Any) -> None:
    seen = _fuzz(fuzz_schema, GenerationMode.NEGATIVE, "application/json", _refused)
    assert len(seen) >= 20, seen
