"""The infrastructure gate on a quiet and on a busy machine: the CPU time per request it judges
against the wall-clock latency it reports, with thread pools pinned to one thread (the gate's
default) and at OpenMP's default (one thread per core).

One LightGBM model (the 13-feature booster of serving_bench.py, 200 rounds) is logged to a
throw-away registry; `run_infrastructure_check` (the gate's fresh process) scores its input
example `--requests` times after 5 warm-up calls, for each of: no busy process of ours, and
`--busy` processes spinning on every core (as a CI runner shared with other jobs); with
`threads=1` and `threads=<cores>`; `--rounds` times each, interleaved. The figures are the
median p95 of each. The busy / quiet ratio says how much the machine's load moves each figure.

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


Key = tuple[str, int]  # (load, threads)


def run_rounds(
    uri: str, tracking: str, args: argparse.Namespace, cores: int
) -> dict[Key, dict[str, list[float]]]:
    """The p95s of every (load, threads) case, `args.rounds` interleaved rounds each."""
    found: dict[Key, dict[str, list[float]]] = {}
    for _ in range(args.rounds):
        for load in ("quiet", "busy"):
            count = args.busy if load == "busy" else 0
            busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(count)]
            try:
                for threads in (1, cores):
                    result = measure(uri, tracking, threads, args.requests)
                    case = found.setdefault((load, threads), {"cpu": [], "wall": []})
                    case["cpu"].append(float(result["cpu_p95_ms"]))
                    case["wall"].append(float(result["wall_p95_ms"]))
                    print(
                        f"{load} threads={threads}: p95 CPU {result['cpu_p95_ms']:.2f} ms, "
                        f"wall {result['wall_p95_ms']:.2f} ms",
                        flush=True,
                    )
            finally:
                for proc in busy:
                    proc.kill()
                    proc.wait()
    return found


def report(found: dict[Key, dict[str, list[float]]], args: argparse.Namespace, cores: int) -> str:
    """The RESULTS.md section."""
    med = {key: {k: statistics.median(v) for k, v in case.items()} for key, case in found.items()}
    rows = []
    for threads in (1, cores):
        label = "1 (the gate's default)" if threads == 1 else f"{cores} (OpenMP's default)"
        for load in ("quiet", "busy"):
            cpu, wall = found[(load, threads)]["cpu"], found[(load, threads)]["wall"]
            rows.append(
                f"| {label} | {load} | {med[(load, threads)]['cpu']:.2f} "
                f"({', '.join(f'{v:.2f}' for v in cpu)}) | {med[(load, threads)]['wall']:.2f} "
                f"({', '.join(f'{v:.2f}' for v in wall)}) |"
            )

    def ratio(threads: int, clock: str) -> str:
        return f"{med[('busy', threads)][clock] / med[('quiet', threads)][clock]:.1f}x"

    load = os.getloadavg()
    return f"""## Infrastructure gate: CPU time (judged) against wall-clock latency, quiet and busy

The gate's fresh process scoring a 13-feature, 200-round LightGBM booster one row at a time,
{args.requests} timed requests after 5 warm-up calls; "busy": {args.busy} processes of this
benchmark spinning on the {cores} cores meanwhile. Median p95 of {args.rounds} interleaved
rounds (each round's p95 in brackets). CPU time is the calling thread's with one thread, the
whole process's with more.

| threads | machine | p95 CPU time (ms) | p95 wall clock (ms) |
|---|---|---|---|
{chr(10).join(rows)}

Busy / quiet, threads pinned to 1: CPU time **{ratio(1, "cpu")}**, wall clock
**{ratio(1, "wall")}**; at OpenMP's default: CPU time {ratio(cores, "cpu")}, wall clock
{ratio(cores, "wall")}. The gate judges the CPU time with one thread. "Quiet" means no busy
process of ours; the machine is shared (load average at the end: {load[0]:.1f} / {load[1]:.1f} /
{load[2]:.1f}).

Command: `.venv/bin/python benchmarks/infra_gate_bench.py --requests {args.requests} --rounds {args.rounds} --busy {args.busy}`
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 2, help="busy processes")
    args = parser.parse_args()
    cores = os.cpu_count() or 2
    with tempfile.TemporaryDirectory(prefix="infra-bench-") as tmp:
        uri, tracking = log_model(Path(tmp) / "proj")
        found = run_rounds(uri, tracking, args, cores)
    body = report(found, args, cores)
    print(body)
    write_section("infra_gate", body)


if __name__ == "__main__":
    main()
