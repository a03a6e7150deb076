"""Features by key: a request carrying entity keys gets its features from the online store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from _serving_kit import FEATURES, Served, wait_ready
from starlette.testclient import TestClient

from lakestack.config import Project
from lakestack.features import FeatureLookup, FeatureStore
from lakestack.serving import ServingInputError, endpoint_app
from lakestack.serving._features import fill_features
from lakestack.serving._payload import Rows


def test_keys_only_requests_are_filled_from_the_online_store(served: Served) -> None:
    from sklearn.linear_model import LogisticRegression

    x, spec = served.entity_features()
    y = (x["x1"] + x["x2"] > 0).astype(int)
    model = LogisticRegression().fit(x, y)
    served.log_with_features(model, x, spec)
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
        csv = client.post(  # the same keys in a CSV body
            "/invocations", content="eid,x1\n2,0.3\n3,-0.2\n", headers={"Content-Type": "text/csv"}
        )
        assert csv.status_code == 200, csv.text
        assert csv.json()["predictions"] == want.tolist()
        given = client.post(  # a value in the request wins over the stored one
            "/invocations", json={"dataframe_records": [{"eid": 2, "x1": 0.3, "x2": 9.0}]}
        )
        want = model.predict(pd.DataFrame({"x1": [0.3], "x2": [9.0], "x3": [0.0]}))
        assert given.json()["predictions"] == want.tolist()
        unknown = client.post("/invocations", json={"dataframe_records": [{"eid": 99, "x1": 0.0}]})
        assert unknown.status_code == 404 and "eid=99" in unknown.json()["message"]
        no_key = client.post("/invocations", json={"dataframe_records": [{"x1": 0.0}]})
        assert no_key.status_code == 422 and "'eid'" in no_key.json()["message"]


def test_requests_with_their_time_are_judged_at_it(served: Served) -> None:
    from sklearn.linear_model import LogisticRegression

    store = FeatureStore(served.project, "prod")
    at = datetime(2013, 7, 1, 5, tzinfo=UTC)
    entities = {
        "eid": [1, 2, 3, 1],
        "ts": [at, at, at, at + timedelta(days=1)],  # eid 1's later row is not published
        "x2": [0.5, -1.0, 2.0, 7.0],
        "x3": [1.0, 0.0, -2.0, 7.0],
    }
    store.create_feature_table(
        "features.ent", data=entities, primary_keys=["eid"], timestamp_key="ts"
    )
    store.publish("features.ent", as_of=datetime(2013, 7, 1, 6))  # replaying that hour
    rng = np.random.default_rng(0)
    labels = {
        "eid": rng.choice([1, 2, 3], 90).tolist(),
        "x1": rng.normal(size=90).tolist(),
        "sched_dep_ts": [at + timedelta(hours=1)] * 90,
    }
    lookup = FeatureLookup(
        "features.ent", "eid", timestamp_lookup_key="sched_dep_ts", max_age=timedelta(hours=3)
    )
    training = store.build_training_set(labels, [lookup])
    x = training.to_polars().to_pandas()[FEATURES]
    model = LogisticRegression().fit(x, (x["x1"] + x["x2"] > 0).astype(int))
    served.log_with_features(model, x, training.spec)
    store.close()
    project = served.configure(poll_interval_s=0)
    with TestClient(endpoint_app(project, "tiny", "prod")) as client:
        wait_ready(client)
        rows = [
            {"eid": 2, "x1": 0.3, "sched_dep_ts": "2013-07-01T06:00:00"},
            {"eid": 1, "x1": -0.2, "sched_dep_ts": "2013-07-01 07:30:00+00:00"},
            {"eid": 3, "x1": 0.1, "sched_dep_ts": "2013-07-01T03:59:00-04:00"},
        ]
        got = client.post("/invocations", json={"dataframe_records": rows})
        assert got.status_code == 200, got.text
        want = model.predict(
            pd.DataFrame({"x1": [0.3, -0.2, 0.1], "x2": [-1.0, 0.5, 2.0], "x3": [0.0, 1.0, -2.0]})
        )
        assert got.json()["predictions"] == want.tolist()
        split = {
            "columns": ["eid", "x1", "sched_dep_ts"],
            "data": [[2, 0.3, "2013-07-01T05:30:00.000"]],
        }
        assert client.post("/invocations", json={"dataframe_split": split}).status_code == 200
        # judged now (no time column), or at a time 3 h after the row: stale features, 404
        now = client.post("/invocations", json={"dataframe_records": [{"eid": 2, "x1": 0.3}]})
        assert now.status_code == 404, now.text
        assert "eid=2" in now.json()["message"] and "older than 3:00:00" in now.json()["message"]
        late = [{"eid": 2, "x1": 0.3, "sched_dep_ts": "2013-07-01T08:00:01Z"}]
        assert client.post("/invocations", json={"dataframe_records": late}).status_code == 404
        for bad in ("soon", 1372658400):
            rows = [
                {"eid": 2, "x1": 0.3, "sched_dep_ts": "2013-07-01T06:00:00"},
                {"eid": 3, "x1": 0.3, "sched_dep_ts": bad},
            ]
            got = client.post("/invocations", json={"dataframe_records": rows})
            assert got.status_code == 422, got.text
            assert "'sched_dep_ts' (row 1)" in got.json()["message"]


def test_lookups_with_different_time_columns_are_judged_each_at_its_own(project: Project) -> None:
    t0 = datetime(2013, 7, 1, tzinfo=UTC)
    hour = timedelta(hours=1)
    with FeatureStore(project, "dev") as store:
        for name, value in (("features.at_dep", 1.0), ("features.at_arr", 2.0)):
            store.create_feature_table(
                name,
                data={"k": [1], "ts": [t0], name.split("_")[-1]: [value]},
                primary_keys=["k"],
                timestamp_key="ts",
            )
            store.publish(name, as_of=t0)
        store.create_feature_table(
            "features.static", data={"k": [1], "size": [3]}, primary_keys=["k"]
        )
        store.publish("features.static")
        labels = {"k": [1], "dep_ts": [t0], "arr_ts": [t0]}
        lookups = [
            FeatureLookup("features.at_dep", "k", timestamp_lookup_key="dep_ts", max_age=2 * hour),
            FeatureLookup("features.at_arr", "k", timestamp_lookup_key="arr_ts", max_age=2 * hour),
            FeatureLookup("features.static", "k"),
        ]
        spec = store.build_training_set(labels, lookups).spec
        inputs = ["dep", "arr", "size"]
        request = Rows(["k", "dep_ts", "arr_ts"], [[1, "2013-07-01T01:00:00", "2013-07-01 00:30"]])
        filled = fill_features(store, spec, inputs, request)
        assert (filled.columns, filled.rows) == (inputs, [[1.0, 2.0, 3]])
        late_arrival = Rows(
            ["k", "dep_ts", "arr_ts"], [[1, "2013-07-01T01:00", "2013-07-01T03:00"]]
        )
        with pytest.raises(ServingInputError, match="features.at_arr has no online row") as info:
            fill_features(store, spec, inputs, late_arrival)
        assert info.value.status == 404
        # `unknown_keys: null`: the stale lookup's features come back missing, as in training
        filled = fill_features(store, spec, inputs, late_arrival, unknown_keys="null")
        assert (filled.columns, filled.rows) == (inputs, [[1.0, None, 3]])
        unknown = Rows(["k", "dep_ts", "arr_ts"], [[7, "2013-07-01T01:00", "2013-07-01T01:00"]])
        filled = fill_features(store, spec, inputs, unknown, unknown_keys="null")
        assert filled.rows == [[None, None, None]]
