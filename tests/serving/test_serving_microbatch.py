"""Micro-batching: concurrent requests on the pyfunc path scored in one predict call, each
answered with its own predictions, a bad request failing alone, every row logged once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from _serving_kit import FEATURES, Served, frame, wait_ready
from starlette.testclient import TestClient

from lakestack.lake import Lake
from lakestack.registry import LoadedModel
from lakestack.serving import InferenceLog, Limits, create_app, inference_table


def payloads(x: pd.DataFrame) -> list[tuple[str, Any]]:
    """Requests of 1 to 7 rows in every format (each a slice of `x`); (content type, body)."""
    out: list[tuple[str, Any]] = []
    start = 0
    for i, size in enumerate([1, 3, 2, 7, 1, 4, 1, 5, 2, 1, 6, 1]):
        part = x.iloc[start : start + size]
        start += size
        kind = i % 5
        if kind == 0:
            body = {"dataframe_split": {"columns": FEATURES, "data": part.to_numpy().tolist()}}
        elif kind == 1:
            body = {"dataframe_records": part.to_dict(orient="records")}
        elif kind == 2:
            body = {"instances": part.to_numpy().tolist()}
        elif kind == 3:
            body = {"inputs": {c: part[c].tolist() for c in FEATURES[::-1]}}
        else:
            out.append(("text/csv", part.to_csv(index=False)))
            continue
        out.append(("application/json", body))
    return out


def post_together(client: TestClient, requests: list[tuple[str, Any]]) -> list[Any]:
    """POST every request at once, from one thread each; the responses in order."""
    barrier = threading.Barrier(len(requests))

    def post(request: tuple[str, Any]) -> Any:
        content_type, body = request
        barrier.wait()
        if content_type == "text/csv":
            return client.post("/invocations", content=body, headers={"Content-Type": content_type})
        return client.post("/invocations", json=body)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(post, requests))


def counting_loader(served: Served, calls: list[int]) -> Callable[[str | int], LoadedModel]:
    """Loads `tiny`, counting the rows of every call to its pyfunc's predict."""

    def load(ref: str | int) -> LoadedModel:
        loaded = served.registry.load_model("tiny", ref)
        predict = loaded.predict

        def counted(data: Any, params: dict[str, Any] | None = None) -> Any:
            calls.append(len(data))
            return predict(data, params=params)

        loaded.predict = counted  # type: ignore[method-assign]
        return loaded

    return load


def app(served: Served, calls: list[int], wait_ms: float, **kw: Any) -> Any:
    return create_app(
        counting_loader(served, calls),
        endpoint="tiny",
        fast_path=False,  # the sklearn model through MLflow's pyfunc: the path that batches
        batch_wait_ms=wait_ms,
        **kw,
    )


def test_batched_answers_are_the_unbatched_ones_in_fewer_predict_calls(served: Served) -> None:
    served.log_sklearn()
    x = frame(40, seed=5)
    requests = payloads(x)
    answers: dict[float, list[Any]] = {}
    calls: dict[float, list[int]] = {}
    for wait_ms in (0.0, 50.0):
        calls[wait_ms] = []
        with TestClient(app(served, calls[wait_ms], wait_ms)) as client:
            wait_ready(client)
            responses = post_together(client, requests)
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
        answers[wait_ms] = [r.json()["predictions"] for r in responses]
    sizes = [len(p) for p in answers[0.0]]
    assert sizes == [1, 3, 2, 7, 1, 4, 1, 5, 2, 1, 6, 1]
    assert [len(p) for p in answers[50.0]] == sizes
    # the same numbers up to the last bits: a batch of other rows may sum in another order
    for batched, alone in zip(answers[50.0], answers[0.0], strict=True):
        assert np.allclose(batched, alone, rtol=1e-12, atol=1e-12)
    want = np.asarray(served.registry.load_model("tiny", "production").predict(x.iloc[:34]))
    assert np.allclose(np.concatenate([np.asarray(p) for p in answers[50.0]]), want)
    assert len(calls[0.0]) == len(requests)
    assert len(calls[50.0]) < len(requests) and sum(calls[50.0]) == 34, calls[50.0]


def test_batch_max_rows_caps_a_batch(served: Served) -> None:
    served.log_sklearn()
    requests = payloads(frame(40, seed=6))
    calls: list[int] = []
    with TestClient(app(served, calls, 50.0, batch_max_rows=8)) as client:
        wait_ready(client)
        responses = post_together(client, requests)
    assert all(r.status_code == 200 for r in responses)
    assert sum(calls) == 34 and max(calls) <= 8 and len(calls) < len(requests), calls


def test_a_bad_request_fails_alone_and_every_row_is_logged_once(served: Served) -> None:
    served.log_sklearn()
    project = served.configure()
    lake = Lake.for_environment(project, "prod")
    log = InferenceLog(lake, "tiny", served.root / "spool", interval_s=0.2)
    calls: list[int] = []
    x = frame(12, seed=7)
    good = [{"dataframe_split": {"columns": FEATURES, "data": [row]}} for row in x.values.tolist()]
    # passes the endpoint's checks (null allowed as NaN) but the model refuses NaN
    bad = {"dataframe_records": [{"x1": None, "x2": 1.0, "x3": 2.0}]}
    requests = [("application/json", body) for body in [*good[:6], bad, *good[6:]]]
    limits = Limits(allow_missing=True)
    with TestClient(app(served, calls, 50.0, limits=limits, inference_log=log)) as client:
        wait_ready(client)
        responses = post_together(client, requests)
    assert max(calls) > 1, calls  # the requests were gathered (then the batch failed)
    statuses = [r.status_code for r in responses]
    assert statuses == [200] * 6 + [500] + [200] * 6, [r.text for r in responses]
    assert "NaN" in responses[6].json()["message"]
    want = np.asarray(served.registry.load_model("tiny", "production").predict(x)).tolist()
    got = [r.json()["predictions"][0] for i, r in enumerate(responses) if i != 6]
    assert np.allclose(got, want)
    ids = [r.headers["X-Request-ID"] for r in responses]
    table = lake.read(inference_table("tiny")).to_pylist()
    assert sorted(r["request_id"] for r in table) == sorted(ids)  # one row per request
    ok = {r["request_id"]: r for r in table if r["status"] == 200}
    for i, request_id in enumerate(ids):
        if i == 6:
            continue
        record = ok[request_id]
        assert record["x1"] == requests[i][1]["dataframe_split"]["data"][0][0]
        assert np.isclose(record["prediction"], want[i if i < 6 else i - 1][1])


def test_by_default_requests_gather_while_the_model_is_busy(served: Served) -> None:
    """No wait for one request; the requests that arrive while it is scored go together."""
    served.log_sklearn()
    requests = payloads(frame(40, seed=8))
    calls: list[int] = []
    holder: dict[str, Any] = {}
    load = counting_loader(served, calls)

    def loader(ref: str | int) -> LoadedModel:
        loaded = load(ref)
        predict = loaded.predict

        def first_waits(data: Any, params: dict[str, Any] | None = None) -> Any:
            if holder.pop("hold", False):  # the first call waits for every other request
                batcher = holder["app"].state.endpoint.batcher
                deadline = time.monotonic() + 120
                while batcher.waiting < len(requests) - 1 and time.monotonic() < deadline:
                    time.sleep(0.01)
            return predict(data, params=params)

        loaded.predict = first_waits  # type: ignore[method-assign]
        return loaded

    holder["app"] = create_app(loader, endpoint="tiny", fast_path=False)  # batch_wait_ms unset
    with TestClient(holder["app"]) as client:
        wait_ready(client)
        alone = client.post("/invocations", json=requests[0][1])
        assert alone.status_code == 200 and calls == [1]
        calls.clear()
        holder["hold"] = True
        responses = post_together(client, requests)
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    assert len(calls) == 2 and sum(calls) == 34, calls  # the first alone, then the rest
    with TestClient(app(served, [], 0.0)) as client:  # batch_wait_ms 0: each alone
        wait_ready(client)
        unbatched = post_together(client, requests)
    for batched, one in zip(responses, unbatched, strict=True):
        assert np.allclose(batched.json()["predictions"], one.json()["predictions"])
