"""Following the registry (a moved alias is loaded and swapped in), canary and shadow."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
from _serving_kit import Served, frame, wait_ready
from starlette.testclient import TestClient

from lakestack.lake import Lake
from lakestack.serving import endpoint_app, inference_table


def test_a_moved_alias_is_served_without_dropping_requests(served: Served) -> None:
    served.log_sklearn(seed=0)
    project = served.configure(poll_interval_s=0.2)
    x = frame(1, seed=9).to_numpy().tolist()
    with TestClient(endpoint_app(project, "tiny", "prod")) as client:
        wait_ready(client)
        assert client.get("/ready").json()["version"] == 1
        v2 = served.log_sklearn(seed=1)
        statuses, versions = Counter[int](), set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            # /ready first: once it names v2, the request after it is answered by v2
            versions.add(client.get("/ready").json()["version"])
            statuses[client.post("/invocations", json={"instances": x}).status_code] += 1
            if v2 in versions and statuses[200] > 5:
                break
            time.sleep(0.02)
        assert versions == {1, v2} and set(statuses) == {200}
        text = client.get("/metrics").text
        assert (
            f'lakestack_model_version{{endpoint="tiny",model="tiny",variant="production"}} {v2}.0'
            in text
        )
    table = Lake.for_environment(project, "prod").read(inference_table("tiny")).to_pylist()
    assert {r["model_version"] for r in table} == {1, v2}


def test_shadow_answers_are_logged_not_returned(served: Served) -> None:
    served.log_sklearn(seed=0)
    served.log_sklearn(seed=1, promote="staging")
    project = served.configure(traffic={"shadow": "staging"}, poll_interval_s=0)
    x = frame(3, seed=2)
    production = served.registry.load_model("tiny", 1).predict(x)
    staging = served.registry.load_model("tiny", 2).predict(x)
    with TestClient(endpoint_app(project, "tiny", "prod")) as client:
        wait_ready(client)
        got = client.post("/invocations", json={"dataframe_records": x.to_dict("records")})
        assert np.allclose(got.json()["predictions"], production)
        rid = got.headers["X-Request-ID"]
        deadline = time.monotonic() + 10  # the shadow scores after the answer
        while 'variant="shadow"} 3.0' not in client.get("/metrics").text:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    rows = Lake.for_environment(project, "prod").read(inference_table("tiny")).to_pylist()
    shadow = sorted((r for r in rows if r["variant"] == "shadow"), key=lambda r: r["row"])
    assert [r["request_id"] for r in shadow] == [rid] * 3
    assert {r["model_version"] for r in shadow} == {2}
    assert np.allclose([r["prediction"] for r in shadow], staging[:, 1])


def test_canary_sends_its_share_to_the_other_alias(served: Served) -> None:
    served.log_sklearn(seed=0)
    served.log_sklearn(seed=1, promote="staging")
    project = served.configure(traffic={"canary": {"staging": 100}}, poll_interval_s=0)
    x = frame(2, seed=2)
    staging = served.registry.load_model("tiny", 2).predict(x)
    with TestClient(endpoint_app(project, "tiny", "prod")) as client:
        wait_ready(client)
        got = client.post("/invocations", json={"dataframe_records": x.to_dict("records")})
        assert np.allclose(got.json()["predictions"], staging)
    rows = Lake.for_environment(project, "prod").read(inference_table("tiny")).to_pylist()
    assert {(r["variant"], r["model_version"]) for r in rows} == {("canary", 2)}
