"""The infrastructure gate under load: its p95 with thread pools pinned to one thread (the gate's
default) against OpenMP's default (one thread per core), while busy processes keep every core
occupied, as a CI runner shared with other jobs does.

One LightGBM model (the 13-feature booster of serving_bench.py, 200 rounds) is logged to a
throw-away registry; `run_infrastructure_check` (the gate's fresh process) scores its input
example `--requests` times after 5 warm-up calls, alternately with `threads=1` and with
`threads=<cores>`, `--rounds` times each. The figure is the median p95 of each.

Run: `.venv/bin/python benchmarks/infra_gate_bench.py` (`--requests`, `--rounds`, `--busy`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_section

BUSY = "import time\nend = time.monotonic() + 3600\nwhile time.monotonic() < end: pass\n"


def log_model(folder: Path) -> tuple[str, str]:
    """Log the booster in a new project; its URI and the tracking URI."""
    import lightgbm as lgb
    import pandas as pd
    from mlflow.models import infer_signature

    from lakestack.config import load_project
    from lakestack.registry import ModelRegistry
    from lakestack.templates import scaffold

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(10_000, 13)), columns=[f"f{i}" for i in range(13)])
    y = (x["f0"] + rng.normal(size=len(x)) > 0).astype(int)
    params = {"objective": "binary", "verbose": -1, "seed": 0, "deterministic": True}
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=200)
    scaffold("default", folder, name="infra_bench")
    registry = ModelRegistry(load_project(folder), "dev")
    info = registry.log_model(
        booster, "bench", signature=infer_signature(x, booster.predict(x)), input_example=x[:1]
    )
    return info.uri, registry.environment.tracking_uri


def measure(uri: str, tracking: str, threads: int, requests: int) -> dict[str, Any]:
    from lakestack.registry._infra import run_infrastructure_check

    found = run_infrastructure_check(
        uri, tracking, requests=requests, warmup=5, threads=threads, timeout_s=600
    )
    if not found.get("ok"):
        raise SystemExit(f"the check failed: {found.get('problem')}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 2, help="busy processes")
    args = parser.parse_args()
    cores = os.cpu_count() or 2
    with tempfile.TemporaryDirectory(prefix="infra-bench-") as tmp:
        uri, tracking = log_model(Path(tmp) / "proj")
        busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(args.busy)]
        p95: dict[int, list[float]] = {1: [], cores: []}
        try:
            for _ in range(args.rounds):
                for threads in (1, cores):
                    found = measure(uri, tracking, threads, args.requests)
                    p95[threads].append(float(found["p95_ms"]))
                    print(f"threads={threads}: p95 {found['p95_ms']:.2f} ms", flush=True)
        finally:
            for proc in busy:
                proc.kill()
                proc.wait()
    pinned, default = statistics.median(p95[1]), statistics.median(p95[cores])
    body = f"""## Infrastructure gate under load: threads pinned vs OpenMP's default

The gate's fresh process scoring a 13-feature, 200-round LightGBM booster one row at a time,
{args.requests} timed requests after 5 warm-up calls, while {args.busy} busy processes keep the
{cores} cores occupied; median p95 of {args.rounds} alternating rounds.

| threads | p95 (ms), median | p95 of each round (ms) |
|---|---|---|
| 1 (the gate's default, `threads: 1`) | {pinned:.2f} | {", ".join(f"{v:.2f}" for v in p95[1])} |
| {cores} (OpenMP's default: one per core) | {default:.2f} | {", ".join(f"{v:.2f}" for v in p95[cores])} |

Unpinned / pinned: **{default / pinned:.1f}x** the p95.

Command: `.venv/bin/python benchmarks/infra_gate_bench.py --requests {args.requests} --rounds {args.rounds} --busy {args.busy}`
"""
    print(body)
    write_section("infra_gate", body)


if __name__ == "__main__":
    main()
