"""Batch scoring on a Ray cluster against the local engine, side by side in one run.

A scikit-learn gradient boosting model (20 features) scores a Delta table of N rows with
`score_table`, once with `engine: local` (predictor threads) and once with the cluster given
by `--ray ray://host:port` (one actor per cluster CPU); the predictions are checked equal.
The cluster must see this machine's /tmp (the same machine, or a shared folder).

Start a cluster first, for example
`ray start --head --node-ip-address=127.0.0.1 --ray-client-server-port=10001 --num-cpus=2`,
then run `.venv/bin/python benchmarks/ray_scoring_bench.py --ray ray://127.0.0.1:10001`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from lakestack.config import load_project
from lakestack.lake import Lake
from lakestack.registry import ModelRegistry
from lakestack.serving import score_table

try:
    from _results import write_section
except ImportError:  # run from another folder
    sys.path.insert(0, str(Path(__file__).parent))
    from _results import write_section

FEATURES = [f"x{i}" for i in range(20)]


def project_with_model(folder: Path, rows: int) -> Path:
    from mlflow.models import infer_signature
    from sklearn.ensemble import HistGradientBoostingClassifier

    env = {
        "lake": ".lakestack/prod/lake",
        "tracking": "sqlite:///.lakestack/prod/mlflow.db",
        "online_store": "sqlite:///.lakestack/prod/online.db",
    }
    doc = {"project": {"name": "bench"}, "environments": {"prod": env}}
    (folder / "lakestack.yaml").write_text(yaml.safe_dump(doc))
    project = load_project(folder)
    rng = np.random.default_rng(0)
    train = pd.DataFrame(rng.normal(size=(5000, 20)), columns=FEATURES)
    y = (train["x0"] + train["x1"] > 0).astype(int)
    model = HistGradientBoostingClassifier(max_iter=50).fit(train, y)
    registry = ModelRegistry(project, "prod")
    info = registry.log_model(
        model,
        "bench",
        signature=infer_signature(train, model.predict_proba(train)),
        flavor_options={"pyfunc_predict_fn": "predict_proba"},
    )
    registry.promote("bench", info.version, to="production", force=True, reason="bench")
    data = pd.DataFrame(rng.normal(size=(rows, 20)), columns=FEATURES).assign(id=np.arange(rows))
    Lake.for_environment(project, "prod").append("silver.rows", data)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ray", required=True, help="The Ray cluster, ray://host:port.")
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--no-write", action="store_true", help="Do not update RESULTS.md.")
    args = parser.parse_args()
    folder = project_with_model(Path(tempfile.mkdtemp(prefix="ray-scoring-")), args.rows)
    project = load_project(folder)
    figures = {}
    for name, engine in (("local", "local"), ("ray", args.ray)):
        started = time.perf_counter()
        result = score_table(project, "bench@production", "silver.rows", f"gold.{name}", "prod",
                             engine=engine)  # fmt: skip
        seconds = time.perf_counter() - started
        figures[name] = (seconds, result.workers)
        print(f"{name:>6}: {args.rows / seconds:,.0f} rows/s ({result.workers} workers)")
    lake = Lake.for_environment(project, "prod")

    def predictions(table: str) -> np.ndarray:
        frame = lake.read_polars(table, columns=["id", "prediction"]).sort("id")
        return frame["prediction"].to_numpy()

    assert np.allclose(predictions("gold.local"), predictions("gold.ray"))
    (local_s, local_w), (ray_s, ray_w) = figures["local"], figures["ray"]
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    body = f"""## Batch scoring on a Ray cluster against the local engine

`score_table` of {args.rows:,} rows x 20 features with a scikit-learn HistGradientBoosting model,
Delta read and write included; the predictions were checked equal.

| engine | workers | seconds | rows/s | ratio to local |
|---|---:|---:|---:|---:|
| local (predictor threads) | {local_w} | {local_s:.2f} | {args.rows / local_s:,.0f} | 1.00 |
| Ray cluster ({args.ray}), one actor per CPU | {ray_w} | {ray_s:.2f} | {args.rows / ray_s:,.0f} | {local_s / ray_s:.2f} |

The cluster ran on the same 2 cores as the driver: the Ray figure shows the engine's overhead,
not a gain, which needs nodes of its own. Command:
`.venv/bin/python benchmarks/ray_scoring_bench.py --ray {args.ray} --rows {args.rows}`. Load
average at the end (1/5/15 min): {load}.
"""
    if not args.no_write:
        write_section("ray_scoring_bench", body)


if __name__ == "__main__":
    main()
