"""Features by key: a request carrying entity keys gets its features from the online store."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _serving_kit import FEATURES, Served, wait_ready
from starlette.testclient import TestClient

from lakestack.features import FeatureLookup, FeatureStore
from lakestack.serving import endpoint_app


def test_keys_only_requests_are_filled_from_the_online_store(served: Served) -> None:
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    store = FeatureStore(served.project, "prod")
    entities = {"eid": [1, 2, 3], "x2": [0.5, -1.0, 2.0], "x3": [1.0, 0.0, -2.0]}
    store.create_feature_table("features.ent", data=entities, primary_keys=["eid"])
    store.publish("features.ent")
    rng = np.random.default_rng(0)
    labels = {"eid": rng.choice([1, 2, 3], 90).tolist(), "x1": rng.normal(size=90).tolist()}
    training = store.build_training_set(labels, [FeatureLookup("features.ent", lookup_key="eid")])
    frame = training.to_polars().to_pandas()
    x = frame[FEATURES]
    y = (x["x1"] + x["x2"] > 0).astype(int)
    model = LogisticRegression().fit(x, y)
    info = served.registry.log_model(
        model, "tiny", signature=infer_signature(x, model.predict(x)), feature_spec=training.spec
    )
    served.registry.promote("tiny", info.version, to="production", force=True, reason="test")
    store.close()
    project = served.configure(poll_interval_s=0)
    with TestClient(endpoint_app(project, "tiny", "prod")) as client:
        wait_ready(client)
        keys_only = [{"eid": 2, "x1": 0.3}, {"eid": 3, "x1": -0.2}]
        got = client.post("/invocations", json={"dataframe_records": keys_only})
        assert got.status_code == 200, got.text
        want = model.predict(
            pd.DataFrame({"x1": [0.3, -0.2], "x2": [-1.0, 2.0], "x3": [0.0, -2.0]})
        )
        assert got.json()["predictions"] == want.tolist()
        given = client.post(  # a value in the request wins over the stored one
            "/invocations", json={"dataframe_records": [{"eid": 2, "x1": 0.3, "x2": 9.0}]}
        )
        want = model.predict(pd.DataFrame({"x1": [0.3], "x2": [9.0], "x3": [0.0]}))
        assert given.json()["predictions"] == want.tolist()
        unknown = client.post("/invocations", json={"dataframe_records": [{"eid": 99, "x1": 0.0}]})
        assert unknown.status_code == 404 and "eid=99" in unknown.json()["message"]
        no_key = client.post("/invocations", json={"dataframe_records": [{"x1": 0.0}]})
        assert no_key.status_code == 422 and "'eid'" in no_key.json()["message"]
