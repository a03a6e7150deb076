"""Not ready yet, and models that fail: answers, never a crashed worker."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from _serving_kit import wait_ready
from starlette.testclient import TestClient

from lakestack.registry import LoadedModel
from lakestack.serving import create_app


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
