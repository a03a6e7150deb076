"""Online serving: lakestack's endpoint (inference logging on) vs `mlflow models serve`.

The same 13-feature LightGBM booster (10,000 training rows, as in registry_bench.py) is
logged through `ModelRegistry` into a temporary project's prod registry and served twice, with
the same worker count, on 127.0.0.1:

- lakestack: `lakestack serve bench --env prod` (uvicorn + Starlette, NumPy fast path, every
  request spooled and appended to `inference.bench`).
- MLflow: `mlflow models serve -m <model folder> --env-manager local`.

The load generator is `wrk` (C, epoll; install it with `apt-get install -y wrk`): a Lua
script POSTs the same single-row `dataframe_split` body at concurrency 1, 8 and 32 for
`--seconds` per level after a 2 s warm-up, and its `done()` prints requests, errors
(non-2xx included) and p50/p99 latency. Without `wrk` on PATH (or with `--generator httpx`)
an async httpx generator in its own process is used instead; it is itself the limit near
~180 requests/s on 2 cores, so its figures understate both servers. Both servers and the
generator share the machine's cores, as they would on one host.

Run: `.venv/bin/python benchmarks/serving_bench.py` (`--seconds`, `--workers`, `--generator`).

Micro-batching: `--pyfunc` logs the booster inside an MLflow `PythonModel`, so both servers
score through the pyfunc (a pandas DataFrame and signature enforcement per call: lakestack's
threaded path, not its NumPy fast path), and `--batch-wait-ms 0 2 5` runs lakestack once per
`batch_wait_ms`. Such a run writes the `serving_microbatch` section of RESULTS.md, e.g.
`--pyfunc --only lakestack --levels 8 32 --batch-wait-ms 0 2 5`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_section
from lakestack.serving import ServerProcess, free_port

LEVELS = (1, 8, 32)
FEATURES = [f"f{i}" for i in range(13)]


def write_config(root: Path, workers: int, batch_wait_ms: float = 0.0) -> None:
    """The project's lakestack.yaml, with the endpoint `bench`."""
    import yaml

    endpoint: dict[str, Any] = {"model": "bench", "workers": workers, "poll_interval_s": 0}
    if batch_wait_ms:
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


def _pyfunc_model(booster: Any) -> Any:
    """The booster inside an MLflow `PythonModel`: a flavor with no NumPy fast path."""
    import mlflow.pyfunc

    class BoosterModel(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def __init__(self, booster: Any) -> None:
            self.booster = booster

        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            # no type hints: MLflow would read them as an input schema
            return self.booster.predict(model_input.to_numpy(), num_threads=1)

    return BoosterModel(booster)


def make_project(root: Path, workers: int, pyfunc: bool = False) -> tuple[Path, str]:
    """A project with the booster as `bench@production` in prod; (model folder, version)."""
    import lightgbm as lgb
    import pandas as pd
    from mlflow.models import infer_signature

    from lakestack.config import load_project
    from lakestack.registry import ModelRegistry

    root.mkdir(parents=True)
    write_config(root, workers)
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(10_000, 13)), columns=FEATURES)
    y = (x["f0"] + rng.normal(size=len(x)) > 0).astype(int)
    params = {"objective": "binary", "verbose": -1, "seed": 0, "deterministic": True}
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=50)
    registry = ModelRegistry(load_project(root), "prod")
    info = registry.log_model(
        _pyfunc_model(booster) if pyfunc else booster,
        "bench",
        signature=infer_signature(x, booster.predict(x)),
        input_example=x[:3],
    )
    registry.promote("bench", info.version, to="production", force=True, reason="benchmark")
    loaded = registry.load_model("bench", info.version)
    return loaded.path, str(info.version)


# -- the load generator (runs in its own process: `serving_bench.py --load URL ...`) ----------


async def _load(url: str, concurrency: int, requests: int, seconds: float) -> dict[str, Any]:
    import httpx

    rng = np.random.default_rng(concurrency)
    bodies = [
        json.dumps({"dataframe_split": {"columns": FEATURES, "data": [row]}}).encode()
        for row in rng.normal(size=(256, 13)).tolist()
    ]
    headers = {"Content-Type": "application/json"}
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        for body in bodies[:20]:  # warm-up
            await client.post(url, content=body, headers=headers)
        counter = iter(range(requests))
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                if time.perf_counter() > deadline:
                    return
                started = time.perf_counter()
                try:
                    response = await client.post(url, content=bodies[i % 256], headers=headers)
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    lat = np.array(latencies) * 1000.0
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
    }


_WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[BODY]==]
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "errors": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99)))
end
"""


def wrk_body() -> str:
    row = np.random.default_rng(0).normal(size=13).tolist()
    return json.dumps({"dataframe_split": {"columns": FEATURES, "data": [row]}})


def measure_wrk(url: str, concurrency: int, seconds: float, script: Path) -> dict[str, Any]:
    """One level with wrk: a 2 s warm-up, then `seconds` of load; its Lua `done()` figures."""

    def run(duration: float) -> dict[str, Any]:
        threads = min(concurrency, 2)
        cmd = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{duration:.0f}s", "--timeout", "30s"]
        out = subprocess.run(
            [*cmd, "-s", str(script), url],
            check=False,
            capture_output=True,
            text=True,
            timeout=duration + 60,
        )
        if out.returncode != 0:
            raise RuntimeError(f"wrk failed: {out.stderr[-3000:]}")
        line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
        return dict(json.loads(line))

    run(2)
    r = run(seconds)
    return {
        "concurrency": concurrency,
        "requests": r["requests"],
        "errors": r["errors"],
        "rps": r["requests"] / (r["duration_us"] / 1e6),
        "p50_ms": r["p50_us"] / 1000.0,
        "p99_ms": r["p99_us"] / 1000.0,
    }


def measure(url: str, concurrency: int, requests: int, seconds: float) -> dict[str, Any]:
    """Run the httpx load generator in a fresh process and return its figures."""
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--load",
            url,
            "--concurrency",
            str(concurrency),
            "--requests",
            str(requests),
            "--seconds",
            str(seconds),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the load generator failed: {out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=5000, help="Requests per level at most (httpx only)."
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="Seconds per level.")
    parser.add_argument(
        "--generator",
        choices=["wrk", "httpx"],
        default="wrk" if shutil.which("wrk") else "httpx",
        help="Load generator (default wrk when installed: `apt-get install -y wrk`).",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=["lakestack", "mlflow"], help="Run one server.")
    parser.add_argument("--no-write", action="store_true", help="Do not update RESULTS.md.")
    parser.add_argument(
        "--levels", type=int, nargs="+", default=list(LEVELS), help="Concurrency levels."
    )
    parser.add_argument(
        "--pyfunc",
        action="store_true",
        help="Serve the booster inside an MLflow PythonModel (the pyfunc path, no fast path).",
    )
    parser.add_argument(
        "--batch-wait-ms",
        type=float,
        nargs="+",
        default=[0.0],
        help="lakestack's endpoint `batch_wait_ms`: one lakestack run per value.",
    )
    args = parser.parse_args()
    microbatch = args.pyfunc or args.batch_wait_ms != [0.0]
    if args.load:
        print(
            json.dumps(asyncio.run(_load(args.load, args.concurrency, args.requests, args.seconds)))
        )
        return
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # servers start faster with cached bytecode
    # `mlflow models serve` starts its server with executables found on PATH
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    work = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    if args.generator == "httpx":
        print("wrk not used (apt-get install -y wrk): the httpx generator is the limit", flush=True)
    script = work / "post.lua"
    script.write_text(_WRK_LUA.replace("BODY", wrk_body()))
    results: dict[str, list[dict[str, Any]]] = {}
    loads: dict[str, tuple[float, float]] = {}  # 1-minute load average before and after
    try:
        model_path, version = make_project(work / "proj", args.workers, args.pyfunc)
        lakestack = [
            sys.executable,
            "-m",
            "lakestack",
            "serve",
            "bench",
            "--env",
            "prod",
            "--project",
            str(work / "proj"),
            "--log-level",
            "warning",
        ]
        servers: dict[str, tuple[list[str], float]] = {
            (f"lakestack, batch_wait_ms {wait:g}" if microbatch else "lakestack"): (lakestack, wait)
            for wait in args.batch_wait_ms
        }
        servers["mlflow models serve"] = (
            [
                sys.executable,
                "-m",
                "mlflow",
                "models",
                "serve",
                "-m",
                str(model_path),
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-w",
                str(args.workers),
            ],
            0.0,
        )
        for name, (cmd, wait) in servers.items():
            if args.only and name.split()[0].rstrip(",") != args.only:
                continue
            write_config(work / "proj", args.workers, wait)
            port = free_port()
            cmd = [*cmd, "--port" if name.startswith("lakestack") else "-p", str(port)]
            log_file = work / f"{name.split()[0].rstrip(',')}-{wait:g}.log"
            ready = "/ready" if name.startswith("lakestack") else "/health"
            server = ServerProcess(cmd, port, log_file, ready_path=ready, env=env, name=name)
            try:
                server.start()
                url = f"http://127.0.0.1:{port}/invocations"
                before = os.getloadavg()[0]
                print(f"{name}: 1-minute load average {before:.2f} before the run", flush=True)
                results[name] = [
                    measure_wrk(url, c, args.seconds, script)
                    if args.generator == "wrk"
                    else measure(url, c, args.requests, args.seconds)
                    for c in args.levels
                ]
                loads[name] = (before, os.getloadavg()[0])
                print(name, json.dumps(results[name], indent=1), flush=True)
            finally:
                server.stop()
        ran_lakestack = any(name.startswith("lakestack") for name in results)
        lake_rows = _inference_rows(work / "proj") if ran_lakestack else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    body = _report(results, args, version, lake_rows, loads)
    print(body)
    if args.no_write:
        return
    if microbatch:  # its own section: the fast-path comparison stays as it is
        write_section("serving_microbatch", body)
    elif not args.only:
        write_section("serving_bench", body)


def _inference_rows(root: Path) -> int:
    from lakestack.config import load_project
    from lakestack.lake import Lake

    lake = Lake.for_environment(load_project(root), "prod")
    return lake.read("inference.bench", columns=["record_id"]).num_rows


def _report(
    results: dict[str, list[dict[str, Any]]],
    args: argparse.Namespace,
    version: str,
    rows: int,
    loads: dict[str, tuple[float, float]],
) -> str:
    if args.generator == "wrk":
        generator = (
            f"`wrk` (Lua script POSTing one single-row body; 2 s warm-up, then "
            f"{args.seconds:.0f} s per level)"
        )
    else:
        generator = (
            f"async httpx load generator in its own process (wrk not installed; the generator "
            f"is the limit), at most {args.requests} requests or {args.seconds:.0f} s per level"
        )
    command = f"benchmarks/serving_bench.py --seconds {args.seconds:g} --workers {args.workers}"
    title = "## Online serving (`benchmarks/serving_bench.py`)"
    model = "a 13-feature LightGBM booster"
    if args.levels != list(LEVELS):
        command += " --levels " + " ".join(map(str, args.levels))
    if args.only:
        command += f" --only {args.only}"
    if args.pyfunc or args.batch_wait_ms != [0.0]:
        title = "## Online serving, micro-batching (`benchmarks/serving_bench.py`)"
        command += " --batch-wait-ms " + " ".join(f"{w:g}" for w in args.batch_wait_ms)
    if args.pyfunc:
        command += " --pyfunc"
        model = (
            "a 13-feature LightGBM booster inside an MLflow `PythonModel` (the pyfunc path: "
            "a pandas DataFrame and signature enforcement per predict call)"
        )
    lines = [
        title,
        "",
        f"Command: `.venv/bin/python {command} --generator {args.generator}`. Single-row "
        f"`dataframe_split` requests to {model} (version {version}), "
        f"{args.workers} worker(s), 127.0.0.1, load generator: {generator}. lakestack (uvicorn "
        f"with uvloop + httptools) logs every request to `inference.bench` ({rows} rows after "
        f"the run, including warm-up). MLflow: `mlflow models serve --env-manager local`.",
        "",
        "1-minute load average before / after each server's run (the machine's 2 cores are "
        "shared with the load generator and any other work): "
        + ", ".join(f"{name} {a:.2f} / {b:.2f}" for name, (a, b) in loads.items())
        + ".",
        "",
        "| server | concurrency | requests | errors | requests/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, levels in results.items():
        for r in levels:
            lines.append(
                f"| {name} | {r['concurrency']} | {r['requests']} | {r['errors']} | "
                f"{r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |"
            )
    if "lakestack" in results and "mlflow models serve" in results:
        ours, theirs = results["lakestack"], results["mlflow models serve"]
        lines += [
            "",
            "| concurrency | throughput ratio | p99 ratio (lakestack / MLflow) |",
            "|---:|---:|---:|",
        ]
        for a, b in zip(ours, theirs, strict=True):
            lines.append(
                f"| {a['concurrency']} | {a['rps'] / b['rps']:.1f}x | "
                f"{a['p99_ms'] / b['p99_ms']:.2f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
