"""Following the registry (a moved alias is loaded and swapped in), canary and shadow."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import httpx
import numpy as np
from _serving_kit import Served, frame, stopped_gracefully, wait_ready
from starlette.testclient import TestClient

from _kit.loops import wait_until
from lakestack.lake import Lake
from lakestack.serving import ServerProcess, endpoint_app, inference_table


def test_a_moved_alias_is_swapped_in_under_concurrent_load_with_no_failed_request(
    served: Served, server_factory: Callable[..., ServerProcess]
) -> None:
    served.log_sklearn(seed=0)
    project = served.configure(poll_interval_s=0.2, log_interval_s=0.5)
    server = server_factory(project).start()
    rows = frame(64, seed=9).to_numpy().tolist()
    answers: list[tuple[int, int, list[float]]] = []  # (status, row, prediction)
    failures: list[str] = []
    stop = threading.Event()

    def client(worker: int) -> None:
        with httpx.Client(timeout=30) as http:
            i = worker
            while not stop.is_set():
                row = i % len(rows)
                try:
                    r = http.post(server.url + "/invocations", json={"instances": [rows[row]]})
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                else:
                    answers.append((r.status_code, row, r.json().get("predictions", [None])[0]))
                i += 8

    threads = [threading.Thread(target=client, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(answers) > 50)
        v2 = served.log_sklearn(seed=1)  # moves `production` while the clients keep sending
        wait_until(lambda: httpx.get(server.url + "/ready").json()["version"] == v2)
        answered = len(answers)
        wait_until(lambda: len(answers) > answered + 50)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert stopped_gracefully(server)
    assert failures == [] and {status for status, _, _ in answers} == {200}
    x = frame(64, seed=9)
    want = {
        v: np.asarray(served.registry.load_model("tiny", v).predict(x)).tolist() for v in (1, v2)
    }
    for _, row, prediction in answers:  # each answer is one version's, never a mix
        assert any(np.allclose(prediction, want[v][row]) for v in (1, v2)), (row, prediction)
    logged = Lake.for_environment(project, "prod").read(inference_table("tiny")).to_pylist()
    assert len(logged) == len(answers) and {r["model_version"] for r in logged} == {1, v2}
    for r in logged:
        assert r["status"] == 200


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
    project = served.configure(traffic={"canary": {"staging": 10}}, poll_interval_s=0)
    x = frame(1, seed=2)
    answers = {
        v: np.asarray(served.registry.load_model("tiny", v).predict(x))[0].tolist() for v in (1, 2)
    }
    n = 1000
    with TestClient(endpoint_app(project, "tiny", "prod")) as client:
        wait_ready(client)
        body = {"dataframe_records": x.to_dict("records")}
        got = [client.post("/invocations", json=body).json()["predictions"][0] for _ in range(n)]
    rows = Lake.for_environment(project, "prod").read(inference_table("tiny")).to_pylist()
    by_variant = Counter((r["variant"], r["model_version"]) for r in rows)
    assert set(by_variant) == {("production", 1), ("canary", 2)}
    canary = by_variant[("canary", 2)]
    # 10 % within five standard deviations of a binomial(n, 0.1): fails once in millions
    sd = (n * 0.1 * 0.9) ** 0.5
    assert abs(canary - n * 0.1) < 5 * sd, canary
    from_staging = sum(np.allclose(p, answers[2]) for p in got)
    assert from_staging == canary  # each answer is the one its variant gave
