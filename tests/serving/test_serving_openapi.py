"""`/openapi.json` says what the server accepts: a body the document allows is answered 200,
a body it refuses gets a 4xx, for every payload shape, null policy and content type."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from _serving_kit import FEATURES, Served, wait_ready
from jsonschema import Draft202012Validator
from starlette.testclient import TestClient

from lakestack.serving import endpoint_app


def document_accepts(doc: dict[str, Any], body: bytes, content_type: str) -> bool:
    """Whether the document's request body schema for this content type allows `body`."""
    content = doc["paths"]["/invocations"]["post"]["requestBody"]["content"]
    if content_type not in content:
        return False
    schema = {**content[content_type]["schema"], "components": doc["components"]}
    if content_type == "text/csv":
        try:
            instance: Any = body.decode("utf-8")
        except UnicodeDecodeError:
            return False
    else:
        try:
            instance = orjson.loads(body)
        except orjson.JSONDecodeError:
            return False
    return Draft202012Validator(schema).is_valid(instance)


@pytest.fixture(params=[False, True], ids=["strict", "allow_missing"])
def client(request: pytest.FixtureRequest, served: Served) -> Iterator[TestClient]:
    served.log_typed(dict.fromkeys(FEATURES, "double"))  # takes NaN, as allow_missing passes
    project = served.configure(allow_missing=request.param, context_columns={"id": "string"})
    with TestClient(endpoint_app(project, "tiny", "prod")) as c:
        wait_ready(c)
        yield c


def _json(value: Any) -> tuple[bytes, str]:
    return orjson.dumps(value), "application/json"


ROW = {"x1": 0.5, "x2": -1.0, "x3": 2.0}
BODIES = {
    "records": _json({"dataframe_records": [ROW]}),
    "records with context": _json({"dataframe_records": [{**ROW, "id": "a"}, ROW]}),
    "records, a null number": _json({"dataframe_records": [{**ROW, "x1": None}]}),
    "records, a string number": _json({"dataframe_records": [{**ROW, "x1": "1"}]}),
    "records, none": _json({"dataframe_records": []}),
    "records, an extra column": _json({"dataframe_records": [{**ROW, "zz": 1}]}),
    "split": _json({"dataframe_split": {"columns": FEATURES, "data": [[1, 2, 3]]}}),
    "split, no columns": _json({"dataframe_split": {"data": [[1, 2, 3]]}}),
    "split, short row": _json({"dataframe_split": {"columns": FEATURES, "data": [[1, 2]]}}),
    "split, null": _json({"dataframe_split": {"columns": FEATURES, "data": [[1, None, 3]]}}),
    "instances, rows": _json({"instances": [[1, 2, 3], [4, 5, 6]]}),
    "instances, records": _json({"instances": [ROW]}),
    "instances, mixed": _json({"instances": [ROW, [1, 2, 3]]}),
    "inputs, nulls": _json({"inputs": [None, None]}),
    "inputs, columns": _json({"inputs": {"x1": [1.0], "x2": [2.0], "x3": [3.0]}}),
    "inputs, scalars": _json({"inputs": {"x1": 1.0, "x2": 2.0, "x3": 3.0}}),
    "inputs, empty columns": _json({"inputs": {"x1": [], "x2": [], "x3": []}}),
    "two formats": _json({"instances": [[1, 2, 3]], "inputs": [[1, 2, 3]]}),
    "params": _json({"instances": [[1, 2, 3]], "params": {}}),
    "params not an object": _json({"instances": [[1, 2, 3]], "params": 3}),
    "a huge number": _json({"instances": [[1e300, 2, 3]]}),
    "not an object": _json([1, 2, 3]),
    "csv": (b"x1,x2,x3\n1,2,3\n", "text/csv"),
    "csv, empty": (b"", "text/csv"),
    "csv, header only": (b"x1,x2,x3\n", "text/csv"),
    "csv, other columns": (b"a,b\n1,2\n", "text/csv"),
}


@pytest.mark.parametrize("name", list(BODIES))
def test_the_document_and_the_server_agree(client: TestClient, name: str) -> None:
    body, content_type = BODIES[name]
    doc = client.get("/openapi.json").json()
    response = client.post("/invocations", content=body, headers={"Content-Type": content_type})
    assert response.status_code < 500, response.text
    accepted = response.status_code == 200
    assert document_accepts(doc, body, content_type) == accepted, (name, response.text)
