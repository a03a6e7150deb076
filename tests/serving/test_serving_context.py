"""Context columns: logged typed with each prediction, not given to the model, checked."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from _serving_kit import Served, wait_ready
from starlette.testclient import TestClient

from lakestack.lake import Lake
from lakestack.serving import endpoint_app, inference_table

CONTEXT = {"flight_id": "string", "sched_dep_ts": "timestamp", "seats": "int64"}


def test_context_columns_are_logged_typed_and_not_scored(served: Served) -> None:
    served.log_sklearn()
    project = served.configure(context_columns=CONTEXT)
    rows = [
        {
            "x1": 0.5,
            "x2": 1.0,
            "x3": -1.0,
            "flight_id": "a1",
            "sched_dep_ts": "2013-07-01T06:00:00",
            "seats": 150,
        },
        {
            "x1": 0.1,
            "x2": 0.0,
            "x3": 2.0,
            "flight_id": "a2",
            "sched_dep_ts": "2013-07-01 08:30:00+02:00",
            "seats": None,
        },
    ]
    plain = [{k: r[k] for k in ("x1", "x2", "x3")} for r in rows]
    with TestClient(endpoint_app(project, "tiny", "prod")) as c:
        wait_ready(c)
        with_context = c.post("/invocations", json={"dataframe_records": rows})
        without = c.post("/invocations", json={"dataframe_records": plain})
        bad = c.post(
            "/invocations",
            json={"dataframe_records": [{**rows[0], "sched_dep_ts": "the first of July"}]},
        )
    assert with_context.status_code == 200, with_context.text
    assert np.allclose(with_context.json()["predictions"], without.json()["predictions"])
    assert bad.status_code == 422
    assert "'sched_dep_ts'" in bad.json()["message"] and "row 0" in bad.json()["message"]
    table = Lake.for_environment(project, "prod").read(inference_table("tiny"))
    assert str(table.schema.field("sched_dep_ts").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("seats").type) == "int64"
    logged = {
        r["flight_id"]: r
        for r in table.to_pylist()
        if r["request_id"] == with_context.headers["X-Request-ID"]
    }
    assert logged["a1"]["sched_dep_ts"] == datetime(2013, 7, 1, 6, tzinfo=UTC)
    assert logged["a2"]["sched_dep_ts"] == datetime(2013, 7, 1, 6, 30, tzinfo=UTC)
    assert logged["a1"]["seats"] == 150 and logged["a2"]["seats"] is None
    assert logged["a1"]["x1"] == 0.5
