"""The endpoint app in process (Starlette's TestClient runs its lifespan): payloads, errors,
health, metrics, OpenAPI, and the inference table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from _serving_kit import FEATURES, Served, frame, wait_ready
from starlette.testclient import TestClient

from lakestack.lake import Lake
from lakestack.serving import endpoint_app, inference_table


@pytest.fixture
def client(served: Served) -> Iterator[TestClient]:
    served.log_sklearn()
    project = served.configure()
    with TestClient(endpoint_app(project, "tiny", "prod")) as c:
        wait_ready(c)
        yield c


def expected(served: Served, x: Any) -> list[Any]:
    model = served.registry.load_model("tiny", "production")
    return np.asarray(model.predict(x)).tolist()  # type: ignore[no-any-return]


def test_every_payload_format_gives_the_models_predictions(
    served: Served, client: TestClient
) -> None:
    x = frame(5, seed=3)
    want = expected(served, x)
    split = {"dataframe_split": {"columns": FEATURES, "data": x.to_numpy().tolist()}}
    records = {"dataframe_records": x.to_dict(orient="records")}
    instances = {"instances": x.to_dict(orient="records")}
    inputs = {"inputs": {c: x[c].tolist() for c in FEATURES}}
    rows = {"instances": x.to_numpy().tolist()}
    shuffled = {
        "dataframe_split": {
            "columns": FEATURES[::-1],
            "data": x[FEATURES[::-1]].to_numpy().tolist(),
        }
    }
    for payload in (split, records, instances, inputs, rows, shuffled):
        response = client.post("/invocations", json=payload)
        assert response.status_code == 200, (payload, response.text)
        assert np.allclose(response.json()["predictions"], want), payload
    csv = x.to_csv(index=False)
    response = client.post("/invocations", content=csv, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    assert np.allclose(response.json()["predictions"], want)
    assert response.headers["X-Request-ID"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "names"),
    [
        (b'{"dataframe_records": [{"x1": 1', "application/json", 400, "JSON"),
        (b"[1, 2]", "application/json", 400, "dataframe_split"),
        (b'{"records": []}', "application/json", 400, "'records'"),
        (b'{"dataframe_records": [{"x1": 1, "x2": 2}]}', "application/json", 422, "'x3'"),
        (
            b'{"dataframe_records": [{"x1": 1, "x2": 2, "x3": 3, "zz": 4}]}',
            "application/json",
            422,
            "'zz'",
        ),
        (
            b'{"dataframe_records": [{"x1": "a", "x2": 2, "x3": 3}]}',
            "application/json",
            422,
            "'x1'",
        ),
        (
            b'{"dataframe_records": [{"x1": true, "x2": 2, "x3": 3}]}',
            "application/json",
            422,
            "'x1'",
        ),
        (
            b'{"dataframe_records": [{"x1": null, "x2": 2, "x3": 3}]}',
            "application/json",
            422,
            "'x1'",
        ),
        (
            b'{"dataframe_records": [{"x1": 1e999, "x2": 2, "x3": 3}]}',
            "application/json",
            400,
            "infinity",
        ),
        (
            b'{"dataframe_records": [{"x1": NaN, "x2": 2, "x3": 3}]}',
            "application/json",
            400,
            "JSON",
        ),
        (b"x1,x2,x3\n1,2,inf\n", "text/csv", 422, "'x3'"),
        (b"x1,x2,x3\n1,2\n", "text/csv", 400, "row 1"),
        (b"<xml/>", "application/xml", 415, "Content-Type"),
        (
            b'{"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1, 2]]}}',
            "application/json",
            400,
            "data[0]",
        ),
        (b'{"instances": [[1, 2]]}', "application/json", 422, "x1, x2, x3"),
    ],
)
def test_bad_input_answers_a_4xx_naming_the_field(
    client: TestClient, body: bytes, content_type: str, status: int, names: str
) -> None:
    response = client.post("/invocations", content=body, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert names in response.json()["message"]


def test_a_body_over_the_limit_gets_413(served: Served) -> None:
    served.log_sklearn()
    project = served.configure(max_body_bytes=2048, max_rows=10)
    with TestClient(endpoint_app(project, "tiny", "prod")) as c:
        wait_ready(c)
        big = {"instances": frame(200).to_numpy().tolist()}
        assert c.post("/invocations", json=big).status_code == 413
        rows = {"instances": frame(20).to_numpy().tolist()[:11]}
        response = c.post("/invocations", json=rows)
        assert response.status_code == 413 and "limit is 10" in response.json()["message"]


def test_metrics_count_every_request_row_and_latency(client: TestClient) -> None:
    """The per-request figures are counted in plain Python and exported at the scrape: each
    request once, each row once, each latency in the first bucket at or above it."""

    def samples() -> dict[str, float]:
        found = {}
        for line in client.get("/metrics").text.splitlines():
            if line.startswith("lakestack_") and not line.startswith("lakestack_inference"):
                name, _, value = line.rpartition(" ")
                found[name] = float(value)
        return found

    before = samples()
    for n in (1, 3, 2):
        body = {"dataframe_split": {"columns": FEATURES, "data": frame(n).to_numpy().tolist()}}
        assert client.post("/invocations", json=body).status_code == 200
    assert (
        client.post(
            "/invocations", content=b"{", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    after = samples()

    def grew(name: str) -> float:
        return after[name] - before.get(name, 0.0)

    assert grew('lakestack_requests_total{endpoint="tiny",status="200"}') == 3
    assert grew('lakestack_requests_total{endpoint="tiny",status="400"}') == 1
    assert grew('lakestack_request_errors_total{endpoint="tiny",kind="malformed"}') == 1
    assert grew('lakestack_predictions_total{endpoint="tiny",variant="production"}') == 6
    assert grew('lakestack_request_latency_seconds_count{endpoint="tiny"}') == 4
    assert grew('lakestack_request_latency_seconds_sum{endpoint="tiny"}') > 0
    buckets = [
        v for k, v in after.items() if k.startswith("lakestack_request_latency_seconds_bucket")
    ]
    assert (
        buckets == sorted(buckets)
        and buckets[-1] == after['lakestack_request_latency_seconds_count{endpoint="tiny"}']
    )
    assert grew('lakestack_prediction_value_count{endpoint="tiny"}') == 6


def test_health_ready_metrics_openapi(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["status"] == "ready" and ready["version"] == 1
    client.post("/invocations", json={"instances": [[0.1, 0.2, 0.3]]})
    client.post("/invocations", json={"instances": [[0.1, "x", 0.3]]})
    text = client.get("/metrics").text
    assert 'lakestack_requests_total{endpoint="tiny",status="200"}' in text
    assert 'lakestack_request_errors_total{endpoint="tiny",kind="type"} 1.0' in text
    assert "lakestack_request_latency_seconds_bucket" in text
    assert "lakestack_prediction_value_bucket" in text
    assert 'lakestack_model_version{endpoint="tiny",model="tiny",variant="production"} 1.0' in text
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    record = doc["components"]["schemas"]["InputRecord"]
    assert record["required"] == FEATURES


def test_every_request_is_in_the_inference_table(served: Served) -> None:
    served.log_sklearn()
    project = served.configure()
    with TestClient(endpoint_app(project, "tiny", "prod")) as c:
        wait_ready(c)
        ids = []
        for i in range(5):
            r = c.post("/invocations", json={"instances": [[i, 0.5, -1.0], [0.0, 0.0, 0.0]]})
            ids.append(r.headers["X-Request-ID"])
        bad = c.post("/invocations", json={"instances": [["no", 0.5, -1.0]]})
    table = Lake.for_environment(project, "prod").read(inference_table("tiny")).to_pylist()
    ok = [r for r in table if r["status"] == 200]
    assert sorted({r["request_id"] for r in ok}) == sorted(ids)
    assert len(ok) == 10 and len({r["record_id"] for r in table}) == len(table)
    first = next(r for r in ok if r["request_id"] == ids[3] and r["row"] == 0)
    assert first["x1"] == 3.0 and first["model"] == "tiny" and first["model_version"] == 1
    assert 0.0 <= first["prediction"] <= 1.0 and first["latency_ms"] > 0
    errors = [r for r in table if r["status"] != 200]
    assert len(errors) == 1 and errors[0]["request_id"] == bad.headers["X-Request-ID"]
    assert "'x1'" in errors[0]["error"]


def test_only_post_invocations_takes_the_short_way(client: TestClient) -> None:
    """`POST /invocations` skips Starlette's router; other methods still get its 405."""
    assert client.get("/invocations").status_code == 405
    response = client.post("/invocations", json={"dataframe_split": {"data": []}})
    assert response.status_code == 400 and response.json()["error_code"] == "BAD_REQUEST"
    ids = {client.post("/invocations", content=b"{").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3 and all(len(i) == 32 for i in ids)


def test_added_middleware_sees_scoring_requests(served: Served) -> None:
    served.log_sklearn()
    app = endpoint_app(served.configure(), "tiny", "prod")
    seen: list[str] = []

    class Spy:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            seen.append(scope.get("path", ""))
            await self.inner(scope, receive, send)

    app.add_middleware(Spy)
    with TestClient(app) as c:
        wait_ready(c)
        x = frame(2, seed=5).to_numpy().tolist()
        assert c.post("/invocations", json={"instances": x}).status_code == 200
    assert "/invocations" in seen
