"""An endpoint on Ray Serve (`engine: ray`) against the same endpoint under uvicorn, side by side.

The 13-feature LightGBM booster of serving_bench.py (`_serving_models.py`) answers single-row JSON requests from
`wrk` (c=8 and c=32, inference logging on) in one run: `lakestack serve` with `engine: local`
(one uvicorn worker), then with `engine: ray` and a fixed 1 and 2 replicas (`autoscaling`
min = max), each replica reserving one CPU. Serve's HTTP proxy is one more process and one
more hop (proxy -> replica over Ray's RPC) per request: this measures what that costs, and
what a second replica gives back, on this machine.

Run `env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=/tmp/pycache .venv/bin/python
benchmarks/ray_serve_bench.py` (the bytecode cache lets Ray's processes start within Ray's
30 s on a busy machine): each Ray peer's `lakestack serve` then
starts a Ray of its own on this machine (the environment's `engine: ray`). `--ray
ray://host:port` uses a running cluster instead (it must see this machine's /tmp).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_section
from _serving_models import bodies, build
from lakestack.errors import ServingError
from lakestack.serving import ServerProcess
from serving_bench import _WRK_LUA, measure

LEVELS = (8, 32)
PEERS = {
    "uvicorn (engine: local, 1 worker)": None,
    "Ray Serve, 1 replica": 1,
    "Ray Serve, 2 replicas": 2,
}


def configure(root: Path, ray: str, replicas: int | None) -> None:
    """The endpoint `bench` on uvicorn (None) or on Ray Serve with a fixed number of replicas."""
    path = root / "lakestack.yaml"
    doc = yaml.safe_load(path.read_text())
    endpoint = doc["endpoints"]["bench"]
    endpoint.pop("engine", None)
    endpoint.pop("autoscaling", None)
    if replicas is not None:
        endpoint.pop("workers", None)
        endpoint["engine"] = "ray"
        endpoint["autoscaling"] = {"min_replicas": replicas, "max_replicas": replicas}
        doc["environments"]["prod"]["engine"] = ray
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def start(root: Path, tries: int = 3) -> ServerProcess:
    """`lakestack serve bench`; again when a busy machine ran out Ray's start-up wait."""
    for attempt in range(1, tries + 1):
        server = ServerProcess.lakestack_serve(
            root, "bench", "prod", args=("--log-level", "warning")
        )
        try:
            return server.start(timeout=600)
        except ServingError as exc:
            if attempt == tries or "Ray did not start" not in str(exc):
                raise
            print(f"Ray did not start (try {attempt} of {tries}): trying again", flush=True)
    raise AssertionError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ray", default="ray", help="ray (a local Ray per run, the default) or ray://host:port."
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="Load per level.")
    parser.add_argument("--no-write", action="store_true", help="Do not update RESULTS.md.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    work = Path(tempfile.mkdtemp(prefix="ray-serve-bench-"))
    root = work / "project"
    build("lightgbm", root, workers=1)
    script = work / "post.lua"
    script.write_text(_WRK_LUA.replace("BODY", bodies("lightgbm")["mlflow"]))
    results: dict[str, list[dict[str, Any]]] = {}
    for name, replicas in PEERS.items():
        configure(root, args.ray, replicas)
        server = start(root)
        try:
            results[name] = [
                measure(server.url + "/invocations", c, args.seconds, script) for c in LEVELS
            ]
        finally:
            server.stop(timeout=180)
        print(name, results[name], flush=True)
    body = report(results, args)
    print(body)
    if not args.no_write:
        write_section("ray_serve", body)


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> str:
    base = next(iter(results.values()))
    head = "| server | " + " | ".join(f"c={c} req/s | c={c} p99 ms" for c in LEVELS)
    lines = [
        "## Online serving on Ray Serve (`benchmarks/ray_serve_bench.py`)",
        "",
        "The serving benchmark's 13-feature LightGBM booster, single-row JSON from `wrk` "
        f"({args.seconds:.0f} s per level after a 2 s warm-up), inference logging on, the "
        "same endpoint under uvicorn and as a Ray Serve deployment with a fixed number of "
        "replicas (each reserving one CPU of a Ray on this machine). The ratio is "
        "req/s against uvicorn at the same concurrency.",
        "",
        head + " | ratio c=32 |",
        "|---" * (1 + 2 * len(LEVELS)) + "|---:|",
    ]
    for name, levels in results.items():
        cells = " | ".join(f"{r['rps']:,.0f} | {r['p99_ms']:.1f}" for r in levels)
        ratio = levels[-1]["rps"] / base[-1]["rps"]
        errors = sum(r["errors"] for r in levels)
        note = f" ({errors} errors)" if errors else ""
        lines.append(f"| {name}{note} | {cells} | {ratio:.2f} |")
    lines += [
        "",
        f"Command: `{_cache_env()}.venv/bin/python benchmarks/ray_serve_bench.py --ray "
        f"{args.ray} --seconds {args.seconds:.0f}`; load average at the end: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}.",
    ]
    return "\n".join(lines)


def _cache_env() -> str:
    """The bytecode cache of the run, as a prefix of the command: without one (this machine
    sets PYTHONDONTWRITEBYTECODE=1) every Ray process compiles its imports, and a busy
    machine runs out of the 30 s Ray gives its processes to start."""
    prefix = os.environ.get("PYTHONPYCACHEPREFIX")
    if not prefix or os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return ""
    return f"env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX={prefix} "


if __name__ == "__main__":
    main()
