"""lakestack and Seldon MLServer (the protocol's reference server, in its own environment: see
tests/_kit/mlserver.py) answer the same Open Inference Protocol request for the same LightGBM
booster with the same numbers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from _serving_kit import Served

from _kit.mlserver import mlserver_process, require_mlserver
from lakestack.serving import ServerProcess

COLUMNS = [f"f{i}" for i in range(5)]


def test_lakestack_and_mlserver_answer_the_same_request_alike(
    served: Served, server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    import lightgbm as lgb
    from mlflow.models import infer_signature

    bin_dir = require_mlserver()
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(2000, 5)), columns=COLUMNS)
    y = (x["f0"] - 0.5 * x["f1"] + rng.normal(size=len(x)) > 0).astype(int)
    params = {"objective": "binary", "verbose": -1, "seed": 0, "deterministic": True}
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=30)
    info = served.registry.log_model(
        booster, "tiny", signature=infer_signature(x, booster.predict(x)), problem="binary"
    )
    served.registry.promote("tiny", info.version, to="production", force=True, reason="test")
    booster.save_model(tmp_path / "model.bst")
    project = served.configure(poll_interval_s=0, log_inference=False)

    rows = rng.normal(size=(40, 5))
    rows[3] = [1e6, -1e6, 0.0, 3.5, -0.0]  # far outside the training range
    request = {
        "id": "same-request",
        "inputs": [
            {"name": "input-0", "shape": [40, 5], "datatype": "FP64", "data": rows.ravel().tolist()}
        ],
    }
    ours = server_factory(project)
    theirs = mlserver_process(
        tmp_path / "mlserver", tmp_path / "model.bst", name="tiny", bin_dir=bin_dir
    )
    with ours.start(), theirs.start():
        got = {
            name: httpx.post(f"{server.url}/v2/models/tiny/infer", json=request, timeout=60)
            for name, server in (("lakestack", ours), ("mlserver", theirs))
        }
        named = httpx.post(  # the same rows, one tensor per column
            f"{ours.url}/v2/models/tiny/infer",
            json={
                "inputs": [
                    {"name": c, "shape": [40], "datatype": "FP64", "data": rows[:, j].tolist()}
                    for j, c in enumerate(COLUMNS)
                ]
            },
        )
        metadata = httpx.get(f"{ours.url}/v2/models/tiny").json()
    assert {n: r.status_code for n, r in got.items()} == {"lakestack": 200, "mlserver": 200}
    answers = {n: r.json() for n, r in got.items()}
    assert {a["id"] for a in answers.values()} == {"same-request"}
    outputs = {n: a["outputs"] for n, a in answers.items()}
    assert [o["name"] for o in outputs["lakestack"]] == [o["name"] for o in outputs["mlserver"]]
    ours_out, theirs_out = outputs["lakestack"][0], outputs["mlserver"][0]
    assert ours_out["datatype"] == theirs_out["datatype"] == "FP64"
    assert np.prod(ours_out["shape"]) == np.prod(theirs_out["shape"]) == 40
    assert np.allclose(ours_out["data"], theirs_out["data"], rtol=1e-9, atol=1e-12)
    assert np.allclose(named.json()["outputs"][0]["data"], ours_out["data"], rtol=1e-12)
    assert np.allclose(ours_out["data"], booster.predict(rows), rtol=1e-9)
    assert [i["datatype"] for i in metadata["inputs"]] == ["FP64"] * 5
