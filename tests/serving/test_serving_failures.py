"""Not ready yet, and models that fail: answers, never a crashed worker."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from _serving_kit import wait_ready
from starlette.testclient import TestClient

from _kit.loops import wait_until
from lakestack.lake import Lake
from lakestack.registry import LoadedModel
from lakestack.serving import InferenceLog, create_app


class _Pyfunc:
    metadata = SimpleNamespace(signature=None)

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def predict(self, data: Any, params: Any = None) -> Any:
        if self.error is not None:
            raise self.error
        return [float(v) for v in data.iloc[:, 0]]


def _model(tmp_path: Path, error: Exception | None = None) -> LoadedModel:
    return LoadedModel("fake", tmp_path, "fake", 7, _Pyfunc(error))


def test_not_ready_until_the_model_is_loaded(tmp_path: Path) -> None:
    gate = threading.Event()

    def loader(ref: str | int) -> LoadedModel:
        gate.wait(30)
        return _model(tmp_path)

    with TestClient(create_app(loader, endpoint="slow")) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 503
        response = client.post("/invocations", json={"inputs": {"a": [1.0]}})
        assert response.status_code == 503 and "loading" in response.json()["message"]
        gate.set()
        wait_ready(client)
        response = client.post("/invocations", json={"inputs": {"a": [1.0, 2.0]}})
        assert response.json() == {"predictions": [1.0, 2.0]}


def test_a_failing_model_answers_500_and_keeps_serving(tmp_path: Path) -> None:
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

    for error, status in (
        (ValueError("boom"), 500),
        (MlflowException("bad column a", error_code=INVALID_PARAMETER_VALUE), 422),
    ):
        with TestClient(create_app(lambda ref, e=error: _model(tmp_path, e))) as client:
            wait_ready(client)
            for _ in range(2):
                response = client.post("/invocations", json={"inputs": {"a": [1.0]}})
                assert response.status_code == status, response.text
            assert client.get("/health").status_code == 200


def test_a_failing_replay_is_reported_and_never_keeps_the_endpoint_from_serving(
    tmp_path: Path, lake: Lake
) -> None:
    root = tmp_path / "spool"
    dead = InferenceLog(lake, "ep", root, interval_s=3600)
    dead.start()
    dead.record({"id": "old", "ts": 1, "status": 200, "columns": ["a"], "rows": [[1.0]]})
    deadline = time.monotonic() + 60
    while dead.replay_pending:  # its own start is done: then it "dies"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert dead._spool is not None
    os.close(dead._spool._fd)
    os.close(dead._spool._lock_fd)  # what the kernel does when a process dies
    broken = Path(lake.root) / "inference"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text("the lake's inference folder is unreachable")
    log = InferenceLog(lake, "ep", root, interval_s=0.05)
    log.retry_max_s = 0.2
    with TestClient(
        create_app(lambda ref: _model(tmp_path), endpoint="ep", inference_log=log)
    ) as c:
        wait_ready(c)
        wait_until(lambda: "replay" in str(c.get("/ready").json()["error"]), timeout=60)
        metrics = c.get("/metrics").text
        assert 'lakestack_inference_log_replay_pending{endpoint="ep"} 1.0' in metrics
        assert 'lakestack_inference_log_failures_total{endpoint="ep"} 0.0' not in metrics
        answered = c.post("/invocations", json={"inputs": {"a": [2.0]}})
        assert answered.status_code == 200  # served while the log cannot write
        broken.unlink()
        wait_until(
            lambda: c.get("/ready").json()["inference_log"]["replay_pending"] is False, timeout=60
        )
        wait_until(lambda: c.get("/ready").json()["error"] is None, timeout=60)
    ids = {r["request_id"] for r in lake.read("inference.ep").to_pylist()}
    assert ids == {"old", answered.headers["X-Request-ID"]}
