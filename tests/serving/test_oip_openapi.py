"""`/openapi.json` states the Open Inference Protocol's routes and, per model, the inference
requests the server accepts: a body the document allows is answered 200, one it refuses 4xx
(for what JSON Schema can say; a shape's product against the data's length it cannot)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from _serving_kit import Served, wait_ready
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from starlette.testclient import TestClient

from lakestack.serving import endpoint_app

TYPES = {"x": "double", "n": "integer", "f": "float", "b": "boolean", "s": "string"}
NUMERIC = ["x", "n", "f"]


def accepts(doc: dict[str, Any], body: Any) -> bool:
    path = doc["paths"]["/v2/models/{name}/infer"]["post"]
    schema = {
        **path["requestBody"]["content"]["application/json"]["schema"],
        "components": doc["components"],
    }
    return Draft202012Validator(schema).is_valid(body)


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory, mlflow_db: Any) -> Iterator[dict[str, Any]]:
    """Endpoints of a model with mixed types (and a context column) and of a numeric one."""
    out = {}
    with_context = {"context_columns": {"rid": "string"}}
    numeric = {"x": "double", "n": "integer", "f": "float"}
    churn = {"tenure": "long", "monthly": "double", "plan": "string"}  # docs/serving.md's
    for name, types, extra in (
        ("mixed", TYPES, with_context),
        ("numeric", numeric, {}),
        ("churn", churn, {}),
    ):
        served = Served(tmp_path_factory.mktemp(name) / "proj", mlflow_db)
        model = "churn" if name == "churn" else "tiny"  # the docs' example names its model
        served.log_typed(types, name=model)
        project = served.configure(model=model, poll_interval_s=0, log_inference=False, **extra)
        out[name] = TestClient(endpoint_app(project, "tiny", "prod"))
    for client in out.values():
        client.__enter__()
        wait_ready(client)
    docs = {name: client.get("/openapi.json").json() for name, client in out.items()}
    yield {"clients": out, "docs": docs}
    for client in out.values():
        client.__exit__(None, None, None)


def _t(name: str, datatype: str, data: list[Any], shape: list[int] | None = None) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": shape or [len(data)], "data": data}


GOOD = [
    _t("x", "FP64", [0.5]),
    _t("n", "INT32", [3]),
    _t("f", "FP32", [1.5]),
    _t("b", "BOOL", [True]),
    _t("s", "BYTES", ["a"]),
]
BODIES: dict[str, tuple[str, Any]] = {
    "every column": ("mixed", {"inputs": GOOD}),
    "with id, parameters, outputs": (
        "mixed",
        {"id": "1", "inputs": GOOD, "outputs": [{"name": "predict"}]},
    ),
    "with a context column": ("mixed", {"inputs": [*GOOD, _t("rid", "BYTES", ["r1"])]}),
    "shape [rows, 1]": ("mixed", {"inputs": [{**t, "shape": [1, 1]} for t in GOOD]}),
    "an integer column as FP64": (
        "mixed",
        {"inputs": [*GOOD[:1], _t("n", "FP64", [3.0]), *GOOD[2:]]},
    ),
    "a fraction for an integer column": (
        "mixed",
        {"inputs": [*GOOD[:1], _t("n", "FP64", [3.5]), *GOOD[2:]]},
    ),
    "BYTES for a number": ("mixed", {"inputs": [_t("x", "BYTES", ["0.5"]), *GOOD[1:]]}),
    "FP64 for a boolean": ("mixed", {"inputs": [*GOOD[:3], _t("b", "FP64", [1.0]), *GOOD[4:]]}),
    "INT8 out of range": ("mixed", {"inputs": [*GOOD[:1], _t("n", "INT8", [300]), *GOOD[2:]]}),
    "a missing column": ("mixed", {"inputs": GOOD[1:]}),
    "an unknown column": ("mixed", {"inputs": [*GOOD, _t("zz", "FP64", [1.0])]}),
    "an unknown datatype": ("mixed", {"inputs": [_t("x", "FP8", [0.5]), *GOOD[1:]]}),
    "a 3-d column": ("mixed", {"inputs": [{**GOOD[0], "shape": [1, 1, 1]}, *GOOD[1:]]}),
    "an unknown key": ("mixed", {"inputs": GOOD, "extra": 1}),
    "no inputs": ("mixed", {"inputs": []}),
    "a matrix": ("numeric", {"inputs": [_t("m", "FP32", [1, 2, 3, 4, 5, 6], [2, 3])]}),
    "a nested matrix": ("numeric", {"inputs": [_t("m", "FP64", [[1, 2, 3]], [1, 3])]}),
    "a matrix too narrow": ("numeric", {"inputs": [_t("m", "FP64", [1, 2], [1, 2])]}),
    "a matrix of BYTES": ("numeric", {"inputs": [_t("m", "BYTES", ["1", "2", "3"], [1, 3])]}),
    "two matrices": (
        "numeric",
        {"inputs": [_t("m", "FP64", [1, 2, 3], [1, 3]), _t("k", "FP64", [1, 2, 3], [1, 3])]},
    ),
}


@pytest.mark.parametrize("case", list(BODIES))
def test_the_document_and_the_server_agree_on_inference_requests(
    clients: dict[str, Any], case: str
) -> None:
    which, body = BODIES[case]
    doc = clients["docs"][which]
    answer = clients["clients"][which].post("/v2/models/tiny/infer", json=body)
    assert answer.status_code < 500, answer.text
    assert accepts(doc, body) == (answer.status_code == 200), (answer.status_code, answer.text)
    if answer.status_code != 200:
        assert list(answer.json()) == ["error"]


def test_the_document_lists_the_protocols_routes(clients: dict[str, Any]) -> None:
    paths = clients["docs"]["mixed"]["paths"]
    for base in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
        assert set(paths[base]) == {"get"} and set(paths[f"{base}/ready"]) == {"get"}
        assert set(paths[f"{base}/infer"]) == {"post"}
    assert {"/v2", "/v2/health/live", "/v2/health/ready"} <= set(paths)
    client = clients["clients"]["mixed"]
    metadata = client.get("/v2/models/tiny").json()
    schemas = clients["docs"]["mixed"]["components"]["schemas"]
    for name, got in (
        ("OipModelMetadata", metadata),
        ("OipServerMetadata", client.get("/v2").json()),
    ):
        assert Draft202012Validator({**schemas[name], "components": {"schemas": schemas}}).is_valid(
            got
        )
    answer = client.post("/v2/models/tiny/infer", json={"inputs": GOOD}).json()
    response = {**schemas["OipInferenceResponse"], "components": {"schemas": schemas}}
    assert Draft202012Validator(response).is_valid(answer)


numbers = st.one_of(
    st.integers(-(2**66), 2**66),
    st.floats(-1e40, 1e40, allow_nan=False),
    st.booleans(),
    st.text(max_size=3),
)
datatypes = st.sampled_from(
    ["BOOL", "INT8", "INT32", "INT64", "UINT8", "UINT64", "FP16", "FP32", "FP64", "BYTES"]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    columns=st.lists(
        st.tuples(st.sampled_from(NUMERIC), datatypes, numbers),
        min_size=1,
        max_size=3,
        unique_by=lambda c: c[0],  # a name given twice is refused, which JSON Schema cannot say
    )
)
def test_any_tensors_get_200_exactly_when_the_document_allows_them(
    clients: dict[str, Any], columns: list[tuple[str, str, Any]]
) -> None:
    body = {"inputs": [_t(name, datatype, [value]) for name, datatype, value in columns]}
    answer = clients["clients"]["numeric"].post("/v2/models/tiny/infer", json=body)
    assert answer.status_code < 500, answer.text
    assert accepts(clients["docs"]["numeric"], body) == (answer.status_code == 200), answer.text


def test_the_curl_example_of_the_docs_is_answered(clients: dict[str, Any]) -> None:
    page = (Path(__file__).parents[2] / "docs" / "serving.md").read_text()
    line = next(
        line for line in page.splitlines() if re.match(r"curl .*/v2/models/churn/infer", line)
    )
    words = shlex.split(line)
    body = orjson.loads(words[words.index("-d") + 1])
    answer = clients["clients"]["churn"].post("/v2/models/churn/infer", json=body)
    assert answer.status_code == 200, answer.text
    assert accepts(clients["docs"]["churn"], body)
    got = answer.json()
    assert got["id"] == "req-1" and got["outputs"][0]["name"] == "predict"
    assert got["outputs"][0]["shape"] == [2]
