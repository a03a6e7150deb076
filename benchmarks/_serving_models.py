"""The models of serving_bench.py, each registered in a project and written for MLServer.

- `lightgbm`: the 13-feature LightGBM booster of registry_bench.py (10,000 rows, 50 rounds):
  lakestack's NumPy fast path.
- `pipeline`: a scikit-learn Pipeline, a OneHotEncoder on two string columns (a
  ColumnTransformer, the numbers passed through) and a GradientBoostingClassifier of 100
  trees, on 5 columns of three types: what lakestack scores through the sklearn flavor with a
  pandas DataFrame (no NumPy fast path).

For each: `build(kind, root)` registers it as `bench@production` in a project at `root`
(endpoint `bench`) and writes the file MLServer loads; `bodies(kind)` gives the single-row
request of each protocol (MLflow's `dataframe_split`, and the Open Inference Protocol's).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

KINDS = ("lightgbm", "pipeline")
FEATURES = [f"f{i}" for i in range(13)]
CARRIERS = list("ABCDEFGH")
AIRPORTS = ["SFO", "JFK", "ORD", "LAX", "SEA", "ATL", "DEN"]


@dataclass(frozen=True)
class Built:
    """A registered model: its MLflow folder, version, and the file MLServer loads."""

    model_path: Path
    version: str
    mlserver_file: Path
    runtime: str  # MLServer's runtime (`lightgbm`, `sklearn`)


def write_config(root: Path, workers: int, batch_wait_ms: float | None = None) -> None:
    """The project's lakestack.yaml, with the endpoint `bench`."""
    import yaml

    endpoint: dict[str, Any] = {"model": "bench", "workers": workers, "poll_interval_s": 0}
    if batch_wait_ms is not None:
        endpoint["batch_wait_ms"] = batch_wait_ms
    doc = {
        "project": {"name": "servebench"},
        "environments": {
            "prod": {
                "lake": ".lakestack/prod/lake",
                "tracking": "sqlite:///.lakestack/prod/mlflow.db",
                "online_store": "sqlite:///.lakestack/prod/online.db",
            }
        },
        "endpoints": {"bench": endpoint},
    }
    (root / "lakestack.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def _booster() -> tuple[Any, Any, Any]:
    import lightgbm as lgb
    import pandas as pd

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(10_000, 13)), columns=FEATURES)
    y = (x["f0"] + rng.normal(size=len(x)) > 0).astype(int)
    params = {"objective": "binary", "verbose": -1, "seed": 0, "deterministic": True}
    return lgb.train(params, lgb.Dataset(x, y), num_boost_round=50), x, None


def pipeline_frame(n: int, seed: int = 0) -> Any:
    """`n` rows of the pipeline's inputs: carrier, origin (strings), distance, dep_delay
    (floats) and hour (an integer)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "carrier": rng.choice(CARRIERS, n),
            "origin": rng.choice(AIRPORTS, n),
            "distance": rng.normal(1000.0, 300.0, n),
            "hour": rng.integers(0, 24, n).astype("int64"),
            "dep_delay": rng.normal(5.0, 10.0, n),
        }
    )


def pipeline_model(rows: int = 5000) -> tuple[Any, Any]:
    """The fitted scikit-learn Pipeline and its training inputs."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    x = pipeline_frame(rows)
    y = ((x["distance"] > 1000) ^ (x["carrier"] == "A") ^ (x["hour"] > 18)).astype(int)
    encode = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), ["carrier", "origin"])],
        remainder="passthrough",
    )
    model = Pipeline(
        [
            ("encode", encode),
            ("model", GradientBoostingClassifier(n_estimators=100, random_state=0)),
        ]
    )
    return model.fit(x, y), x


def build(kind: str, root: Path, workers: int) -> Built:
    """Register the model `kind` as `bench@production` in a new project at `root`."""
    import joblib
    from mlflow.models import infer_signature

    from lakestack.config import load_project
    from lakestack.registry import ModelRegistry

    root.mkdir(parents=True)
    write_config(root, workers)
    registry = ModelRegistry(load_project(root), "prod")
    if kind == "lightgbm":
        model, x, _ = _booster()
        mlserver_file, runtime = root / "model.bst", "lightgbm"
        model.save_model(str(mlserver_file))
        problem = "binary"
    else:
        model, x = pipeline_model()
        mlserver_file, runtime = root / "model.joblib", "sklearn"
        joblib.dump(model, mlserver_file)
        problem = "binary"
    info = registry.log_model(
        model,
        "bench",
        signature=infer_signature(x, model.predict(x)),
        input_example=x[:3],
        problem=problem,
    )
    registry.promote("bench", info.version, to="production", force=True, reason="benchmark")
    loaded = registry.load_model("bench", info.version)
    return Built(loaded.path, str(info.version), mlserver_file, runtime)


def _row(kind: str) -> dict[str, Any]:
    if kind == "lightgbm":
        values = np.random.default_rng(0).normal(size=13).tolist()
        return dict(zip(FEATURES, values, strict=True))
    return {k: v[0] for k, v in pipeline_frame(1, seed=1).to_dict(orient="list").items()}


def bodies(kind: str) -> dict[str, str]:
    """The single-row request body of each protocol: `mlflow` and `oip`."""
    row = _row(kind)
    mlflow = {"dataframe_split": {"columns": list(row), "data": [list(row.values())]}}
    if kind == "lightgbm":  # one 2-D tensor, as MLServer's LightGBM runtime takes it
        oip: dict[str, Any] = {
            "inputs": [
                {
                    "name": "input-0",
                    "datatype": "FP64",
                    "shape": [1, len(row)],
                    "data": list(row.values()),
                }
            ]
        }
    else:  # one tensor per column, decoded by MLServer into a pandas DataFrame
        oip = {
            "parameters": {"content_type": "pd"},
            "inputs": [_oip_column(k, v) for k, v in row.items()],
        }
    return {"mlflow": json.dumps(mlflow), "oip": json.dumps(oip)}


def _oip_column(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {
            "name": name,
            "datatype": "BYTES",
            "shape": [1],
            "data": [value],
            "parameters": {"content_type": "str"},
        }
    datatype = "INT64" if isinstance(value, int) else "FP64"
    return {"name": name, "datatype": datatype, "shape": [1], "data": [value]}
