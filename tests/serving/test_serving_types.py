"""Every MLflow column type, end to end: the request check, the model, the inference table.

A value the endpoint answers is one its inference table can hold; a value that does not fit
its column is refused with a 422 naming the column, and never holds back the records after it.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from _serving_kit import EVERY_TYPE as TYPES
from _serving_kit import Served, typed_signature, wait_ready
from starlette.testclient import TestClient

from lakestack.lake import Lake
from lakestack.serving import CONTEXT_TYPES, MLFLOW_TYPES, endpoint_app, inference_table

GOOD = {
    "flag": True,
    "count": 7,
    "big": 2**62,
    "ratio": 0.5,
    "amount": -1e300,
    "name": "Zoë ✈",
    "blob": base64.b64encode(b"\x00\xffbytes").decode(),
    "when": "2013-07-01T06:00:00",
}
CONTEXT = {"flight_id": "string", "sched_dep_ts": "timestamp"}


def _rows(project: Any) -> list[dict[str, Any]]:
    lake = Lake.for_environment(project, "prod")
    if not lake.exists(inference_table("tiny")):
        return []
    return lake.read(inference_table("tiny")).to_pylist()  # type: ignore[no-any-return]


def test_every_type_is_scored_and_logged_typed(served: Served) -> None:
    served.log_typed(TYPES)
    project = served.configure(context_columns=CONTEXT)
    record = {**GOOD, "flight_id": "a1", "sched_dep_ts": "2013-07-01T08:00:00+0200"}
    with TestClient(endpoint_app(project, "tiny", "prod")) as client:
        wait_ready(client)
        response = client.post("/invocations", json={"dataframe_records": [record]})
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": [8.0]}
        request_id = response.headers["X-Request-ID"]
    table = Lake.for_environment(project, "prod").read(inference_table("tiny"))
    types = {f.name: str(f.type) for f in table.schema}
    assert types["flag"] == "bool" and types["count"] == "int32" and types["big"] == "int64"
    assert types["ratio"] == "float" and types["amount"] == "double"
    assert types["name"] == "string" and types["blob"] == "binary"
    assert types["when"] == "timestamp[us, tz=UTC]"
    (row,) = [r for r in table.to_pylist() if r["request_id"] == request_id]
    assert row["flag"] is True and row["count"] == 7 and row["big"] == 2**62
    assert row["amount"] == -1e300 and row["name"] == "Zoë ✈" and row["blob"] == b"\x00\xffbytes"
    assert row["when"] == datetime(2013, 7, 1, 6, tzinfo=UTC)
    assert row["sched_dep_ts"] == datetime(2013, 7, 1, 6, tzinfo=UTC)
    assert row["prediction"] == 8.0 and row["status"] == 200


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("big", 2**63),
        ("big", -(2**63) - 1),
        ("big", 1e300),
        ("count", 3_000_000_000),
        ("ratio", 1e300),
        ("flag", 1),
        ("blob", "not base64!"),
        ("when", "2013-13-01T00:00:00"),
        ("when", "3000-01-01T00:00:00"),
        ("sched_dep_ts", 1e13),
        ("sched_dep_ts", 1e15),
        ("sched_dep_ts", -1e13),
        ("flight_id", 42),
    ],
)
def test_a_value_that_does_not_fit_its_column_is_refused_and_blocks_nothing(
    served: Served, column: str, value: Any
) -> None:
    served.log_typed(TYPES)
    project = served.configure(context_columns=CONTEXT)
    good = {**GOOD, "flight_id": "a1", "sched_dep_ts": "2013-07-01T06:00:00"}
    with TestClient(endpoint_app(project, "tiny", "prod")) as client:
        wait_ready(client)
        bad = client.post("/invocations", json={"dataframe_records": [{**good, column: value}]})
        after = client.post("/invocations", json={"dataframe_records": [good]})
        assert after.status_code == 200, after.text
    assert bad.status_code == 422, bad.text
    assert repr(column) in bad.json()["message"]
    rows = _rows(project)
    statuses = {r["request_id"]: r["status"] for r in rows}
    assert statuses == {
        bad.headers["X-Request-ID"]: 422,
        after.headers["X-Request-ID"]: 200,
    }


def test_an_integral_float_is_the_integer_it_equals(served: Served) -> None:
    """JSON Schema reads 2.0 as an integer, so the document allows 2**53 written as a float;
    the server takes it as that integer, and refuses a fraction or a value past 64 bits."""
    served.log_typed({"n": "long", "x": "double"})
    project = served.configure()
    with TestClient(endpoint_app(project, "tiny", "prod")) as client:
        wait_ready(client)
        answers = [
            client.post("/invocations", json={"dataframe_records": [{"n": n, "x": 1.0}]})
            for n in (9007199254740992.0, 2.0**62, -(2.0**60), 2.5, 2.0**63)
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 422, 422], answers[-1].text
    logged = {r["request_id"]: r for r in _rows(project)}
    sent = [logged[a.headers["X-Request-ID"]] for a in answers[:3]]
    assert [r["n"] for r in sent] == [2**53, 2**62, -(2**60)]


def test_a_null_integer_is_refused_with_the_reason(served: Served) -> None:
    """MLflow cannot hand a missing integer to a model, even in an optional column."""
    served.log_typed({"n": "long", "x": "double"}, optional=frozenset({"n", "x"}))
    project = served.configure()
    with TestClient(endpoint_app(project, "tiny", "prod")) as client:
        wait_ready(client)
        nulls = client.post("/invocations", json={"dataframe_records": [{"n": 1, "x": None}]})
        missing = client.post("/invocations", json={"dataframe_records": [{"n": None, "x": 1.0}]})
    assert nulls.status_code == 200, nulls.text
    assert missing.status_code == 422 and "'n'" in missing.json()["message"]
    assert "double" in missing.json()["message"]


def test_the_documented_type_mapping_is_the_one_the_code_uses() -> None:
    text = (Path(__file__).parents[2] / "docs" / "serving.md").read_text(encoding="utf-8")
    lines = text.split("| MLflow type | context type |", 1)[1].splitlines()[2:]
    table = [[c.strip().strip("`") for c in line.split("|")[1:-1]] for line in lines]
    table = table[: next(i for i, row in enumerate(table) if not row)]
    documented_mlflow, documented_context = set(), set()
    for mlflow_type, context_type, *_, arrow in table:
        kind = MLFLOW_TYPES[mlflow_type]
        assert str(kind.arrow()) == arrow, mlflow_type
        documented_mlflow.add(mlflow_type)
        if context_type:
            assert CONTEXT_TYPES[context_type] is kind, context_type
            documented_context.add(context_type)
    assert documented_mlflow == set(MLFLOW_TYPES)
    assert documented_context == set(CONTEXT_TYPES)


def test_a_null_integer_reaches_a_model_scored_on_numpy_as_nan(served: Served) -> None:
    """The NumPy fast path (LightGBM here) takes a missing integer as NaN, as it trained."""
    import lightgbm as lgb
    import numpy as np

    rng = np.random.default_rng(0)
    x = np.column_stack([rng.integers(0, 10, 300).astype(float), rng.normal(size=300)])
    x[::7, 0] = np.nan
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "seed": 0},
        lgb.Dataset(x, (x[:, 1] > 0).astype(int)),
        num_boost_round=5,
    )
    signature = typed_signature({"n": "long", "x": "double"}, frozenset({"n"}))
    info = served.registry.log_model(booster, "tiny", signature=signature)
    served.registry.promote("tiny", info.version, to="production", force=True, reason="test")
    project = served.configure()
    with TestClient(endpoint_app(project, "tiny", "prod")) as client:
        wait_ready(client)
        missing = client.post("/invocations", json={"dataframe_records": [{"n": None, "x": 0.5}]})
        doc = client.get("/openapi.json").json()
    assert missing.status_code == 200, missing.text
    want = booster.predict(np.array([[np.nan, 0.5]]))
    assert np.allclose(missing.json()["predictions"], want)
    record = doc["components"]["schemas"]["InputRecord"]["properties"]["n"]
    assert {"type": "null"} in record["anyOf"]
    (row,) = _rows(project)
    assert row["n"] is None and row["status"] == 200
