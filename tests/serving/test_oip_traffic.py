"""The Open Inference Protocol takes `/invocations`' way through an endpoint: features looked up
by key, context columns logged, canary and shadow traffic, versions by path, and `auth: token`
(a real `lakestack serve`, Triton's client)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import tritonclient.http as triton
from _serving_kit import FEATURES, Served
from mlflow.models import infer_signature
from tritonclient.utils import InferenceServerException

from _kit.access import write_access_project
from lakestack.access import acting_as, create_token, grant_role, revoke_role
from lakestack.lake import Lake
from lakestack.serving import ServerProcess, inference_table

KEYS = [2, 3, 1]
X1 = [0.3, -0.2, 1.1]


def _models_with_features(served: Served) -> list[Any]:
    """Two versions looking x2, x3 up by `eid`: v1 `production`, v2 `staging`."""
    from sklearn.linear_model import LogisticRegression

    x, spec = served.entity_features()
    models = []
    for alias, target in (("production", x["x1"] + x["x2"] > 0), ("staging", x["x3"] > 0)):
        model = LogisticRegression().fit(x, target.astype(int))
        served.log_with_features(model, x, spec, to=alias)
        models.append(model)
    return models


def _keys_only(rid: str) -> list[triton.InferInput]:
    eid = triton.InferInput("eid", [3], "INT64")
    eid.set_data_from_numpy(np.array(KEYS, dtype=np.int64))
    x1 = triton.InferInput("x1", [3], "FP64")
    x1.set_data_from_numpy(np.array(X1), binary_data=False)
    ids = triton.InferInput("rid", [3], "BYTES")
    ids.set_data_from_numpy(np.array([f"{rid}-{i}".encode() for i in range(3)], dtype=np.object_))
    return [eid, x1, ids]


def test_keys_context_canary_shadow_and_versions_go_the_invocations_way(
    served: Served, server_factory: Callable[..., ServerProcess]
) -> None:
    production, staging = _models_with_features(served)
    project = served.configure(
        poll_interval_s=0,
        context_columns={"rid": "string"},
        traffic={"canary": {"staging": 50}, "shadow": "staging"},
    )
    full = pd.DataFrame({"x1": X1, "x2": [-1.0, 2.0, 0.5], "x3": [0.0, -2.0, 1.0]})
    want = {1: production.predict(full).tolist(), 2: staging.predict(full).tolist()}
    assert want[1] != want[2]  # the variants answer differently, so an answer says which
    server = server_factory(project).start()
    client = triton.InferenceServerClient(server.url.removeprefix("http://"))
    answers: dict[str, list[Any]] = {}
    try:
        for n in range(40):
            answers[f"oip{n}"] = (
                client.infer("tiny", _keys_only(f"oip{n}")).as_numpy("predict").tolist()
            )
        for version in ("1", "2"):
            result = client.infer("tiny", _keys_only(f"v{version}"), model_version=version)
            answers[f"v{version}"] = result.as_numpy("predict").tolist()
            assert result.get_response()["model_version"] == version
        records = [
            {"eid": k, "x1": x, "rid": f"mlflow-{i}"}
            for i, (k, x) in enumerate(zip(KEYS, X1, strict=True))
        ]
        invocations = httpx.post(server.url + "/invocations", json={"dataframe_records": records})
    finally:
        client.close()
        assert server.stop()
    assert invocations.json()["predictions"] in (want[1], want[2])
    assert answers["v1"] == want[1] and answers["v2"] == want[2]
    logged = Lake.for_environment(project, "prod").read(inference_table("tiny")).to_pylist()
    answering = [r for r in logged if r["variant"] != "shadow"]
    by_request = {r["rid"].rsplit("-", 1)[0]: r for r in answering}
    for name, answer in answers.items():
        record = by_request[name]
        version = record["model_version"]
        assert answer == want[version], name  # each answer is its logged variant's
        assert record["variant"] == ("production" if version == 1 else "canary")
    variants = Counter(by_request[f"oip{n}"]["variant"] for n in range(40))
    assert set(variants) == {"production", "canary"}, variants  # 50 %: both, bar 2**-39
    # keys-only: the looked-up features are logged with the context column, row by row
    rows = sorted((r for r in answering if r["rid"].startswith("oip0-")), key=lambda r: r["row"])
    assert [(r["x1"], r["x2"], r["x3"], r["rid"]) for r in rows] == [
        (0.3, -1.0, 0.0, "oip0-0"),
        (-0.2, 2.0, -2.0, "oip0-1"),
        (1.1, 0.5, 1.0, "oip0-2"),
    ]
    # the shadow scored every request, OIP or not, and its answers were logged only
    shadow = Counter(r["request_id"] for r in logged if r["variant"] == "shadow")
    requests = {r["request_id"] for r in answering}
    assert set(shadow) == requests and set(shadow.values()) == {3}
    assert all(r["model_version"] == 2 for r in logged if r["variant"] == "shadow")


def test_with_token_auth_oip_needs_a_token_and_refusals_are_not_logged(
    tmp_path: Path, mlflow_db: Path, child_bytecode_cache: None
) -> None:
    from sklearn.linear_model import LogisticRegression

    endpoint = {"model": "tiny", "auth": "token", "log_interval_s": 0.2, "poll_interval_s": 0}
    project = write_access_project(
        tmp_path / "aproj", mlflow_db=mlflow_db, endpoints={"tiny": endpoint}
    )
    x = pd.DataFrame(np.random.default_rng(0).normal(size=(120, 3)), columns=FEATURES)
    model = LogisticRegression().fit(x, (x["x1"] > 0).astype(int))
    with acting_as("dep1"):
        from lakestack.registry import ModelRegistry

        registry = ModelRegistry(project, "prod")
        info = registry.log_model(model, "tiny", signature=infer_signature(x, model.predict(x)))
        registry.promote("tiny", info.version, to="production", force=True, reason="test")
    with acting_as("alice"):
        reader = create_token(project, "dev1", ["prod"]).token
        grant_role(project, "eve", "reader", "prod")
        eve = create_token(project, "eve", ["prod"]).token
        revoke_role(project, "eve", "prod")  # her token still works, her role is gone
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKESTACK_")}
    env["LAKESTACK_PRINCIPAL"] = "dep1"
    server = ServerProcess.lakestack_serve(project.root, "tiny", "prod", env=env).start()
    tensor = triton.InferInput("m", [1, 3], "FP64")
    tensor.set_data_from_numpy(np.array([[0.5, -1.0, 2.0]]))
    refused: dict[str, str] = {}
    try:
        for why, token in (("none", None), ("malformed", "nope"), ("no role", eve)):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            client = triton.InferenceServerClient(server.url.removeprefix("http://"))
            try:
                client.infer("tiny", [tensor], headers=headers)
            except InferenceServerException as exc:
                refused[why] = str(exc.status())
            client.close()
        client = triton.InferenceServerClient(server.url.removeprefix("http://"))
        bearer = {"Authorization": f"Bearer {reader}"}
        accepted = client.infer("tiny", [tensor], headers=bearer).as_numpy("predict").tolist()
        open_routes = [client.is_server_live(), client.is_server_ready()]
        metadata = httpx.get(server.url + "/v2/models/tiny").status_code
        client.close()
    finally:
        assert server.stop()
    assert refused == {"none": "401", "malformed": "401", "no role": "403"}
    assert accepted == model.predict(pd.DataFrame([[0.5, -1.0, 2.0]], columns=FEATURES)).tolist()
    assert open_routes == [True, True] and metadata == 401
    logged = Lake.for_environment(project, "prod").read("inference.tiny").to_pylist()
    assert len(logged) == 1 and logged[0]["status"] == 200
