"""Model logging: log and register a LightGBM model through lakestack vs MLflow's `log_model`.

Three ways, side by side in one process, each on its own SQLite tracking store, each timed after
one warm-up call (the first call in a process pays for lazy imports):

- lakestack: `ModelRegistry.log_model` (signature, input example, lineage tags and files, the
  flavor's pinned requirements: no inference).
- MLflow default: `mlflow.lightgbm.log_model(..., registered_model_name=...)` in a run, with
  its defaults, which infer the pip requirements by loading the model in a subprocess.
- MLflow with `pip_requirements` given: what the default costs without the inference.

Run: `.venv/bin/python benchmarks/registry_bench.py` (`--repeats`, `--default-repeats`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_section


def make_model() -> tuple[Any, Any, Any]:
    """A 13-feature LightGBM booster on 10,000 rows (the model serving_bench.py serves too)."""
    import lightgbm as lgb
    import pandas as pd
    from mlflow.models import infer_signature

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(10_000, 13)), columns=[f"f{i}" for i in range(13)])
    y = (x["f0"] + rng.normal(size=len(x)) > 0).astype(int)
    params = {"objective": "binary", "verbose": -1, "seed": 0, "deterministic": True}
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=50)
    return booster, x, infer_signature(x, booster.predict(x))


def time_calls(fn: Any, repeats: int) -> list[float]:
    fn()  # warm-up: lazy imports
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def bench_lakestack(
    folder: Path, booster: Any, x: Any, signature: Any, repeats: int
) -> list[float]:
    from lakestack.config import load_project
    from lakestack.registry import ModelRegistry
    from lakestack.templates import scaffold

    scaffold("default", folder, name="bench")
    registry = ModelRegistry(load_project(folder), "dev")

    def log() -> None:
        registry.log_model(booster, "bench_lgbm", signature=signature, input_example=x.head(5))

    return time_calls(log, repeats)


def bench_mlflow(
    folder: Path, booster: Any, x: Any, signature: Any, repeats: int, *, infer: bool
) -> list[float]:
    import mlflow
    import mlflow.lightgbm

    folder.mkdir(parents=True)
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")  # global: fine in a benchmark
    mlflow.set_experiment("bench")
    extra: dict[str, Any] = {}
    if not infer:
        extra["pip_requirements"] = mlflow.lightgbm.get_default_pip_requirements()

    def log() -> None:
        with mlflow.start_run():
            mlflow.lightgbm.log_model(
                booster,
                name="model",
                signature=signature,
                input_example=x.head(5),
                registered_model_name="bench_lgbm",
                **extra,
            )

    try:
        return time_calls(log, repeats)
    finally:
        mlflow.set_tracking_uri(None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="Timed calls of the fast ways.")
    parser.add_argument(
        "--default-repeats", type=int, default=3, help="Timed MLflow default calls."
    )
    parser.add_argument("--no-write", action="store_true", help="Do not update RESULTS.md.")
    args = parser.parse_args()

    booster, x, signature = make_model()
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        root = Path(tmp)
        ours = bench_lakestack(root / "lakestack", booster, x, signature, args.repeats)
        given = bench_mlflow(root / "given", booster, x, signature, args.repeats, infer=False)
        default = bench_mlflow(
            root / "default", booster, x, signature, args.default_repeats, infer=True
        )

    def row(name: str, times: list[float]) -> str:
        median = statistics.median(times)
        ratio = statistics.median(default) / median
        return f"| {name} | {median:.3f} | {min(times):.3f} | {max(times):.3f} | {len(times)} | {ratio:.0f}x |"

    body = "\n".join(
        [
            "## Model logging: log and register a LightGBM model (registry_bench)",
            "",
            "A 13-feature LightGBM booster (50 trees), with a signature and a 5-row input example,",
            "logged and registered as a new version on a SQLite tracking store; seconds per call,",
            "after one warm-up call. Aim: under 0.5 s.",
            "",
            "| way | median s | min s | max s | calls | speed-up vs MLflow default |",
            "|---|---:|---:|---:|---:|---:|",
            row("lakestack `ModelRegistry.log_model` (with lineage)", ours),
            row("MLflow `log_model`, pip_requirements given", given),
            row("MLflow `log_model`, defaults (infers requirements)", default),
            "",
            "lakestack passes the flavor's pinned default requirements instead of inferring them;",
            "inference loads the model in a fresh Python process to see what it imports.",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("registry_bench", body)


if __name__ == "__main__":
    main()
