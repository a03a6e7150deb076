"""HTTP servers for lakestack's endpoint, side by side: uvicorn as is, uvicorn writing each
response in one write (`OneWriteProtocol`, what `lakestack serve` runs), and granian.

Issue 16 asked to consider a Rust-based HTTP server (granian) if it earns its place, and one
write of a response's headers and body. This runs two apps under each server chosen with
`--servers`, alternating, one worker process each, on the LightGBM model of serving_bench.py:

- the floor (`_floor_app.py`: a fixed answer, no parse, no model, no log);
- lakestack's endpoint (`lakestack.serving._serve:app_from_env`, the factory `lakestack serve`
  gives uvicorn; inference logging on), which granian runs through the same ASGI interface.

The servers: `uvicorn` (uvloop, httptools' protocol as uvicorn ships it: the head and the
body in two writes), `one-write` (uvloop, `lakestack.serving._one_write:OneWriteProtocol`),
`granian` (ASGI, uvloop, one runtime thread in single-threaded mode, its fastest setting
here; `--granian-options` for others). wrk at concurrency 32, single-row JSON bodies, as
serving_bench.py.

granian is not in uv.lock (it did not earn its place: RESULTS.md); to include it, install it
in the venv for the run: `uv pip install granian`. Run:
`.venv/bin/python benchmarks/server_ab.py --servers uvicorn,one-write` (writes the section
`one_write_ab` of RESULTS.md) or `--servers uvicorn,granian` (the section `granian_ab`);
`--rounds`, `--seconds`, `--no-write`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_section
from _serving_models import bodies, build, write_config
from lakestack.serving import ServerProcess, free_port
from serving_bench import _WRK_LUA, ensure_wrk, measure

HERE = Path(__file__).parent
SERVERS = ("uvicorn", "one-write", "granian")
ONE_WRITE = "lakestack.serving._one_write:OneWriteProtocol"


def command(side: str, port: int, granian: list[str]) -> tuple[list[str], str | None]:
    """The server's command line and its readiness path (None: the port answering)."""
    python = sys.executable
    app, server = side.split(", ")
    if server == "granian":
        cmd = [str(Path(python).parent / "granian"), "--interface", "asgi", *granian]
        cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-ws"]
        cmd += ["--log-level", "warning", "--no-access-log"]
        if app == "floor":
            return [*cmd, "--working-dir", str(HERE), "_floor_app:app"], None
        return [*cmd, "--factory", "lakestack.serving._serve:app_from_env"], "/ready"
    http = ONE_WRITE if server == "one-write" else "httptools"
    options = ["--loop", "uvloop", "--http", http, "--no-access-log", "--log-level", "warning"]
    if app == "floor":
        cmd = [python, "-m", "uvicorn", "_floor_app:app", "--app-dir", str(HERE), *options]
        return [*cmd, "--port", str(port)], None
    cmd = [python, "-m", "uvicorn", "lakestack.serving._serve:app_from_env", "--factory"]
    return [*cmd, *options, "--port", str(port)], "/ready"


def sides(servers: list[str]) -> list[str]:
    """The runs of one round: each app under each server."""
    return [f"{app}, {server}" for app in ("floor", "lakestack") for server in servers]


def run(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    """Every side `--rounds` times, alternating: {side: wrk results}."""
    work = Path(tempfile.mkdtemp(prefix="granian-ab-"))
    project = work / "lightgbm"
    build("lightgbm", project, 1)
    write_config(project, 1)
    script = work / "mlflow.lua"
    script.write_text(_WRK_LUA.replace("BODY", bodies("lightgbm")["mlflow"]))
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env |= {
        "LAKESTACK_SERVE_PROJECT": str(project),
        "LAKESTACK_SERVE_ENDPOINT": "bench",
        "LAKESTACK_SERVE_ENV": "prod",
        "LAKESTACK_SERVE_WORKERS": "1",
    }
    results: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.rounds):
        for side in sides(args.servers):
            port = free_port()
            cmd, ready = command(side, port, args.granian_options.split())
            log = work / f"{side.replace(', ', '-')}.log"
            server = ServerProcess(cmd, port, log, ready_path=ready, env=env, name=side)
            server.start()
            try:
                got = measure(f"http://127.0.0.1:{port}/invocations", 32, args.seconds, script)
            finally:
                server.stop()
            if got["errors"]:
                raise RuntimeError(f"{side}: {got['errors']} failed requests; see {log}")
            results.setdefault(side, []).append(got | {"load": os.getloadavg()[0]})
            print(side, f"{got['rps']:,.0f} req/s, p99 {got['p99_ms']:.1f} ms", flush=True)
    return results


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> str:
    def rps(side: str) -> float:
        return statistics.median(r["rps"] for r in results[side])

    base, *others = args.servers
    rows = []
    for side in sides(args.servers):
        each = ", ".join(f"{r['rps']:,.0f}" for r in results[side])
        p99 = statistics.median(r["p99_ms"] for r in results[side])
        rows.append(f"| {side} | {rps(side):,.0f} | {each} | {p99:.1f} |")
    loads = [f"{r['load']:.2f}" for side in sides(args.servers) for r in results[side]]
    ratios = []
    for other in others:
        floor = rps(f"floor, {other}") / rps(f"floor, {base}")
        ours = rps(f"lakestack, {other}") / rps(f"lakestack, {base}")
        verdict = "slower for both" if max(floor, ours) < 1 else "faster for at least one"
        ratios.append(
            f"{other} against {base}: the floor **{floor:.2f}x**, lakestack **{ours:.2f}x** "
            f"({verdict})."
        )
    title = " and ".join(others)
    described = {
        "uvicorn": "uvicorn (uvloop, httptools: a response's head and body in two writes)",
        "one-write": "one-write (the same with `OneWriteProtocol`, one write per response: "
        "what `lakestack serve` runs)",
        "granian": f"granian (ASGI, `{args.granian_options}`)",
    }
    install = "uv pip install granian && " if "granian" in args.servers else ""
    return "\n".join(
        [
            f"## Online serving: {title} against {base} as the HTTP server",
            "",
            "The floor app and lakestack's endpoint (the LightGBM model of serving_bench.py,",
            "inference logging on) under each server, one worker process each: "
            + "; ".join(described[server] for server in args.servers)
            + f". wrk at concurrency 32, {args.seconds:.0f} s after a 2 s warm-up, "
            f"{args.rounds} alternating rounds.",
            "",
            "| app, server | req/s (median) | each round | p99 ms (median) |",
            "|---|---:|---|---:|",
            *rows,
            "",
            *ratios,
            "",
            f"Command: `{install}.venv/bin/python benchmarks/server_ab.py --servers "
            f"{','.join(args.servers)} --rounds {args.rounds} --seconds {args.seconds:.0f}`. "
            f"1-minute load average after each run: {', '.join(loads)}.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--servers",
        type=lambda text: text.split(","),
        default=["uvicorn", "one-write"],
        help=f"comma-separated, the first the baseline: {', '.join(SERVERS)}",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--granian-options", default="--loop uvloop --runtime-mode st --runtime-threads 1"
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    unknown = [s for s in args.servers if s not in SERVERS]
    if unknown or len(args.servers) < 2:
        sys.exit(f"--servers: two or more of {', '.join(SERVERS)}, not {args.servers}")
    granian = shutil.which("granian", path=str(Path(sys.executable).parent))
    if "granian" in args.servers and granian is None:
        sys.exit(
            "granian is not installed in this venv (it is not in uv.lock): "
            "`uv pip install granian`, then run this again"
        )
    ensure_wrk()
    body = report(run(args), args)
    print(body)
    if not args.no_write:
        write_section("granian_ab" if "granian" in args.servers else "one_write_ab", body)


if __name__ == "__main__":
    main()
