"""Online serving side by side: the HTTP floor, lakestack, Seldon MLServer and MLflow.

Two models (`_serving_models.py`): the 13-feature LightGBM booster (lakestack's NumPy fast
path) and a scikit-learn Pipeline (a OneHotEncoder on string columns and a gradient-boosting
model: the sklearn flavor on a pandas DataFrame). For each, four servers run one after
another on 127.0.0.1 with the same worker count, and answer the same single row:

- floor: a bare ASGI app returning a fixed answer (`_floor_app.py`) under uvicorn with uvloop
  and httptools, lakestack's server: what HTTP and the load generator cost alone;
- lakestack: `lakestack serve bench --env prod`, every request spooled and appended to
  `inference.bench` (inference logging on);
- MLServer 1.7 (`mlserver-lightgbm`, `mlserver-sklearn`) on the Open Inference Protocol, in an
  environment of its own (it cannot share lakestack's lock; tests/_kit/mlserver.py builds it);
- MLflow: `mlflow models serve --env-manager local`.

The load generator is `wrk` (C, epoll; installed with apt-get when missing and run as root):
a Lua script POSTs the single-row body at concurrency 1, 8 and 32 for `--seconds` per level
after a 2 s warm-up, and its `done()` prints requests, errors (non-2xx included) and p50/p99
latency. Servers and generator share the machine's cores, as they would on one host; the
1-minute load average is printed with each server's run.

Run: `.venv/bin/python benchmarks/serving_bench.py` (`--model`, `--seconds`, `--workers`,
`--only`, `--batch-wait-ms`); it writes the sections `serving_bench` (LightGBM) and
`serving_pipeline` (the Pipeline) of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from _results import write_section
from _serving_models import KINDS, bodies, build, write_config
from lakestack.serving import ServerProcess, free_port

LEVELS = (1, 8, 32)
SERVERS = ("floor", "lakestack", "mlserver", "mlflow")
SECTIONS = {"lightgbm": "serving_bench", "pipeline": "serving_pipeline"}
MODELS = {
    "lightgbm": "the 13-feature LightGBM booster (50 rounds; lakestack's NumPy fast path)",
    "pipeline": (
        "a scikit-learn Pipeline: OneHotEncoder on 2 string columns (ColumnTransformer, 3 "
        "number columns passed through) + GradientBoostingClassifier (100 trees); lakestack "
        "scores it through the sklearn flavor on a pandas DataFrame"
    ),
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


def ensure_wrk() -> None:
    """wrk on PATH, installed from Debian's packages when missing (as root)."""
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, env=env)
    if not shutil.which("wrk"):
        sys.exit("serving_bench needs wrk: `apt-get install -y wrk` (Debian's package)")


def measure(url: str, concurrency: int, seconds: float, script: Path) -> dict[str, Any]:
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


def _server(
    name: str, built: Any, project: Path, work: Path, workers: int, env: dict[str, str]
) -> tuple[ServerProcess, str]:
    """The server `name` (not started) and the URL its requests go to."""
    port = free_port()
    log = work / f"{name}.log"
    python = sys.executable
    if name == "floor":
        cmd = [python, "-m", "uvicorn", "_floor_app:app", "--app-dir", str(Path(__file__).parent)]
        cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
        cmd += ["--log-level", "warning", "--workers", str(workers), "--port", str(port)]
        return ServerProcess(cmd, port, log, ready_path=None, env=env, name=name), "/invocations"
    if name == "lakestack":
        cmd = [python, "-m", "lakestack", "serve", "bench", "--env", "prod", "--project"]
        cmd += [str(project), "--log-level", "warning", "--port", str(port)]
        return ServerProcess(cmd, port, log, env=env, name=name), "/invocations"
    if name == "mlflow":
        cmd = [python, "-m", "mlflow", "models", "serve", "-m", str(built.model_path)]
        cmd += ["--env-manager", "local", "-h", "127.0.0.1", "-w", str(workers), "-p", str(port)]
        server = ServerProcess(cmd, port, log, ready_path="/health", env=env, name=name)
        return server, "/invocations"
    from _kit.mlserver import mlserver_process

    server = mlserver_process(
        work / "mlserver",
        built.mlserver_file,
        name="bench",
        runtime=built.runtime,
        workers=0 if workers == 1 else workers,
        port=port,
    )
    return server, "/v2/models/bench/infer"


def run_model(kind: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Every server on one model: {"results": {name: levels}, "loads": ..., ...}."""
    project = work / kind
    built = build(kind, project, args.workers)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # servers start faster with cached bytecode
    # `mlflow models serve` starts its server with executables found on PATH
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    scripts = {}
    for protocol, body in bodies(kind).items():
        scripts[protocol] = work / f"{kind}-{protocol}.lua"
        scripts[protocol].write_text(_WRK_LUA.replace("BODY", body))
    runs: list[tuple[str, str, float | None]] = []
    for name in args.only or SERVERS:
        if name == "lakestack":
            runs += [(_label(name, w, args), name, w) for w in args.batch_wait_ms or [None]]
        else:
            runs.append((name, name, None))
    results: dict[str, list[dict[str, Any]]] = {}
    loads: dict[str, tuple[float, float]] = {}
    for label, name, wait in runs:
        write_config(project, args.workers, wait)
        server, path = _server(name, built, project, work, args.workers, env)
        try:
            server.start()
            before = os.getloadavg()[0]
            print(f"{kind} / {label}: 1-minute load average {before:.2f}", flush=True)
            script = scripts["oip" if name == "mlserver" else "mlflow"]
            url = f"http://127.0.0.1:{server.port}{path}"
            results[label] = [measure(url, c, args.seconds, script) for c in args.levels]
            loads[label] = (before, os.getloadavg()[0])
            print(label, json.dumps(results[label]), flush=True)
        finally:
            server.stop()
    rows = _inference_rows(project) if "lakestack" in (args.only or SERVERS) else 0
    return {"results": results, "loads": loads, "version": built.version, "rows": rows}


def _label(name: str, wait: float | None, args: argparse.Namespace) -> str:
    return name if wait is None else f"{name}, batch_wait_ms {wait:g}"


def _inference_rows(root: Path) -> int:
    from lakestack.config import load_project
    from lakestack.lake import Lake

    lake = Lake.for_environment(load_project(root), "prod")
    return lake.read("inference.bench", columns=["record_id"]).num_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=KINDS, nargs="+", default=list(KINDS))
    parser.add_argument("--seconds", type=float, default=5.0, help="Seconds per level.")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--only", choices=SERVERS, nargs="+", help="Run these servers only.")
    parser.add_argument("--no-write", action="store_true", help="Do not update RESULTS.md.")
    parser.add_argument("--levels", type=int, nargs="+", default=list(LEVELS))
    parser.add_argument(
        "--batch-wait-ms",
        type=float,
        nargs="+",
        help="lakestack's endpoint `batch_wait_ms`: one lakestack run per value.",
    )
    args = parser.parse_args()
    ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    try:
        for kind in args.model:
            run = run_model(kind, args, work)
            body = report(kind, run, args)
            print(body, flush=True)
            if not args.no_write:
                write_section(SECTIONS[kind], body)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(kind: str, run: dict[str, Any], args: argparse.Namespace) -> str:
    results, loads = run["results"], run["loads"]
    command = f"benchmarks/serving_bench.py --model {kind} --seconds {args.seconds:g}"
    command += f" --workers {args.workers}"
    if args.levels != list(LEVELS):
        command += " --levels " + " ".join(map(str, args.levels))
    if args.only:
        command += " --only " + " ".join(args.only)
    if args.batch_wait_ms:
        command += " --batch-wait-ms " + " ".join(f"{w:g}" for w in args.batch_wait_ms)
    title = "Online serving" if kind == "lightgbm" else "Online serving, a scikit-learn Pipeline"
    lines = [
        f"## {title} (`benchmarks/serving_bench.py`)",
        "",
        f"Command: `.venv/bin/python {command}`. Single-row requests to {MODELS[kind]} "
        f"(version {run['version']}), {args.workers} worker(s) each, 127.0.0.1, `wrk` "
        f"(2 s warm-up, then {args.seconds:g} s per level). The floor is a bare ASGI app "
        "returning a fixed answer under uvicorn + uvloop + httptools as uvicorn ships it "
        "(lakestack's server is the same with one write per response, `OneWriteProtocol`). "
        f"lakestack logs every request to `inference.bench` ({run['rows']} rows after the "
        "run, warm-ups included). MLServer 1.7 answers the Open Inference Protocol "
        "(`/v2/models/bench/infer`); MLflow is `mlflow models serve --env-manager local`.",
        "",
        "1-minute load average before / after each server's run (2 cores shared with wrk "
        "and any other work on the machine): "
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
    lines += ratios(results)
    return "\n".join(lines)


def ratios(results: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Each lakestack run against the others, level by level."""
    peers = {"floor": "floor", "mlserver": "MLServer", "mlflow": "MLflow"}
    present = {k: v for k, v in peers.items() if k in results}
    ours = [name for name in results if name.startswith("lakestack")]
    if not ours or not present:
        return []
    head = ["lakestack run", "concurrency"]
    head += [f"req/s vs {label}" for label in present.values()]
    if "floor" in present:
        head.append("p99 minus floor p99 (ms)")
    if "mlflow" in present:
        head.append("p99 / MLflow p99")
    lines = ["", "| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for name in ours:
        for i, r in enumerate(results[name]):
            cells = [name, str(r["concurrency"])]
            for peer in present:
                cells.append(f"{r['rps'] / results[peer][i]['rps']:.2f}x")
            if "floor" in present:
                cells.append(f"{r['p99_ms'] - results['floor'][i]['p99_ms']:+.1f}")
            if "mlflow" in present:
                cells.append(f"{r['p99_ms'] / results['mlflow'][i]['p99_ms']:.2f}")
            lines.append("| " + " | ".join(cells) + " |")
    return lines


if __name__ == "__main__":
    main()
