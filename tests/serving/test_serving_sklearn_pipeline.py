"""A scikit-learn Pipeline on string, integer and float columns (the slow path of old): the
endpoint calls the pipeline's own predict on a DataFrame it builds, and answers what MLflow's
pyfunc answers, nulls and converted values included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _serving_kit import Served, wait_ready
from starlette.testclient import TestClient

from lakestack.serving import ServedModel, endpoint_app

COLUMNS = ["carrier", "origin", "distance", "hour"]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "carrier": rng.choice(list("ABCD"), n),
            "origin": rng.choice(["SFO", "JFK", "ORD"], n),
            "distance": rng.normal(1000.0, 300.0, n),
            "hour": rng.integers(0, 24, n).astype("int64"),
        }
    )


def _pipeline(x: pd.DataFrame) -> Any:
    """A OneHotEncoder on the strings and a gradient-boosting model that takes NaN."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    y = ((x["distance"] > 1000) ^ (x["carrier"] == "A") ^ (x["hour"] > 18)).astype(int)
    encode = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), ["carrier", "origin"])],
        remainder="passthrough",
    )
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    return Pipeline([("encode", encode), ("model", model)]).fit(x, y)


@pytest.fixture
def pipeline(served: Served) -> Any:
    from mlflow.models import infer_signature

    x = _frame(400, seed=0)
    model = _pipeline(x)
    info = served.registry.log_model(
        model,
        "tiny",
        signature=infer_signature(x, model.predict_proba(x)),
        flavor_options={"pyfunc_predict_fn": "predict_proba"},
    )
    served.registry.promote("tiny", info.version, to="production", force=True, reason="test")
    return served.registry.load_model("tiny", info.version)


@pytest.fixture
def client(served: Served, pipeline: Any) -> Iterator[TestClient]:
    project = served.configure(allow_missing=True)
    with TestClient(endpoint_app(project, "tiny", "prod")) as c:
        wait_ready(c)
        yield c


def test_the_pipeline_is_called_directly_and_answers_as_the_pyfunc(
    pipeline: Any, client: TestClient
) -> None:
    served = ServedModel.wrap(pipeline)
    assert served.fast is None and served.direct is not None
    x = _frame(40, seed=1)
    want = np.asarray(pipeline.predict(x))
    rows = x.to_numpy().tolist()
    whole = client.post(
        "/invocations", json={"dataframe_split": {"columns": COLUMNS, "data": rows}}
    )
    assert whole.status_code == 200, whole.text
    assert np.allclose(whole.json()["predictions"], want)
    for row, expected in zip(rows[:10], want[:10], strict=True):
        one = client.post(
            "/invocations", json={"dataframe_records": [dict(zip(COLUMNS, row, strict=True))]}
        )
        assert one.status_code == 200, one.text
        assert np.allclose(one.json()["predictions"], [expected])


def test_nulls_and_converted_values_answer_as_the_pyfunc(pipeline: Any, client: TestClient) -> None:
    records = [
        {"carrier": "A", "origin": "SFO", "distance": None, "hour": 3},  # allowed missing
        {"carrier": "Z", "origin": "SFO", "distance": 850.5, "hour": 23},  # unseen category
        {"carrier": "B", "origin": "ORD", "distance": 1200, "hour": 7.0},  # int as float
    ]
    response = client.post("/invocations", json={"dataframe_records": records})
    assert response.status_code == 200, response.text
    frame = pd.DataFrame(
        {
            "carrier": ["A", "Z", "B"],
            "origin": ["SFO", "SFO", "ORD"],
            "distance": [np.nan, 850.5, 1200.0],
            "hour": np.array([3, 23, 7], dtype="int64"),
        }
    )
    assert np.allclose(response.json()["predictions"], np.asarray(pipeline.predict(frame)))
    for bad, status, field in (
        ({"carrier": None, "origin": "SFO", "distance": 1.0, "hour": 1}, 422, "carrier"),
        ({"carrier": "A", "origin": "SFO", "distance": 1.0, "hour": 1.5}, 422, "hour"),
        ({"carrier": "A", "origin": 7, "distance": 1.0, "hour": 1}, 422, "origin"),
    ):
        refused = client.post("/invocations", json={"dataframe_records": [bad]})
        assert refused.status_code == status, refused.text
        assert field in refused.json()["message"]


def _threads_model() -> Any:
    """A model answering, per row, how many OpenMP threads the thread scoring it would use."""
    import mlflow.pyfunc

    class OpenMPThreads(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def load_context(self, context):  # type: ignore[no-untyped-def]
            import lightgbm  # noqa: F401  (loads an OpenMP runtime, as a model's library does)

        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            from threadpoolctl import threadpool_info

            pools = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"]
            return [float(max(pools, default=-1))] * len(model_input)

    return OpenMPThreads()


def test_a_serving_process_scores_with_one_thread_per_request(served: Served) -> None:
    """`model_threads=1` (what `lakestack serve` sets): whichever thread scores a request,
    its OpenMP pool has one thread (OpenMP's limit is per thread: each sets its own)."""
    from mlflow.models import infer_signature

    from lakestack.serving import create_app
    from lakestack.serving._model import limit_threads

    x = _frame(3, seed=4)
    info = served.registry.log_model(
        _threads_model(),
        "threads",
        signature=infer_signature(x),
        flavor="pyfunc",
        problem="regression",
    )
    served.registry.promote("threads", info.version, to="production", force=True, reason="t")
    payload = {"dataframe_records": x.to_dict(orient="records")}
    answers = {}
    try:
        for threads in (None, 1):
            app = create_app(
                lambda ref: served.registry.load_model("threads", ref),
                endpoint="threads",
                model_threads=threads,
            )
            with TestClient(app) as client:
                wait_ready(client)
                answer = client.post("/invocations", json=payload)
                assert answer.status_code == 200, answer.text
                answers[threads] = answer.json()["predictions"]
    finally:
        limit_threads(None)  # process-wide: as it was for the other tests
    assert answers[1] == [1.0, 1.0, 1.0]
    assert answers[None][0] >= 1.0  # the library's default (the machine's cores)
