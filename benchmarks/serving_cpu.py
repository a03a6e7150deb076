"""Where a served request's CPU goes: `lakestack serve` under wrk, CPU seconds per request by
thread (the event loop, the inference log's writer, deltalake's Rust runtime) and in the
serving process's children (the inference log's rows process).

Requests per second move with whatever else the machine runs; the CPU a request costs moves
much less, so this is how two versions of the server are compared: run this script in each
checkout, alternating, and compare the per-request figures. It serves the 13-feature LightGBM
booster of serving_bench.py (`inference.bench` logging on, one worker), sends the single-row
body with `wrk -t2 -c32` for 2 s (warm-up) and then `--seconds`, and reads each thread's CPU
time, and its child processes' CPU time, from /proc before and after.

Run: `.venv/bin/python benchmarks/serving_cpu.py` (`--seconds`, `--concurrency`). Prints one
line; it does not write RESULTS.md (benchmarks/serving.md keeps the before/after runs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from _serving_models import bodies, build, write_config
from serving_bench import _WRK_LUA, _server, ensure_wrk


def thread_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """(name, CPU seconds) of each thread of `pid`; the main thread is named `main`."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue  # the thread ended
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / tick
        found[int(tid)] = ("main" if int(tid) == pid else name, cpu)
    return found


def children_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """(`child <command>`, CPU seconds of all its threads) of each child process of `pid`."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            try:
                stat = Path(f"/proc/{child}/stat").read_text()
                command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue  # it ended
            fields = stat[stat.rindex(")") + 2 :].split()
            line = b" ".join(command).decode(errors="replace")
            what = "rows process" if "_rows_process" in line else line[:40]
            found[-child] = (f"child {what}", (int(fields[11]) + int(fields[12])) / tick)
    return found


def wrk(url: str, script: Path, concurrency: int, seconds: float) -> dict[str, float]:
    cmd = ["wrk", "-t2", f"-c{concurrency}", f"-d{seconds:.0f}s", "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return dict(json.loads([x for x in out.stdout.splitlines() if x.startswith("{")][-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="serving-cpu-"))
    project = work / "lightgbm"
    built = build("lightgbm", project, 1)
    write_config(project, 1, None)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    script = work / "body.lua"
    script.write_text(_WRK_LUA.replace("BODY", bodies("lightgbm")["mlflow"]))
    server, path = _server("lakestack", built, project, work, 1, env)
    server.start()
    try:
        url = f"http://127.0.0.1:{server.port}{path}"
        wrk(url, script, args.concurrency, 2)
        assert server.process is not None
        pid = server.process.pid
        before = thread_cpu(pid) | children_cpu(pid)
        result = wrk(url, script, args.concurrency, args.seconds)
        after = thread_cpu(pid) | children_cpu(pid)
        rss = dict(children_rss(pid))
    finally:
        server.stop()
    requests = result["requests"]
    by_name: Counter[str] = Counter()
    for tid, (name, cpu) in after.items():
        label = "other Python threads (the log's writer)" if name == "python" else name
        by_name[label] += cpu - before.get(tid, ("", 0))[1]
    per_request = {k: round(v / requests * 1e6) for k, v in by_name.most_common() if v > 0.01}
    print(
        f"{requests} requests ({result['errors']:.0f} errors), "
        f"{requests / (result['duration_us'] / 1e6):.0f} req/s, "
        f"p50 {result['p50_us'] / 1000:.1f} ms, p99 {result['p99_us'] / 1000:.1f} ms; "
        f"CPU us per request: {per_request}, total {sum(by_name.values()) / requests * 1e6:.0f}; "
        f"load average {os.getloadavg()[0]:.2f}"
        + "".join(f"; {name} RSS {kb / 1024:.0f} MB" for name, kb in rss.items())
    )


def children_rss(pid: int) -> list[tuple[str, int]]:
    """(name, resident kB) of the serving process and of each child (the rows process)."""
    found = []
    for name, proc in [
        ("serving process", pid),
        *((n, -k) for k, (n, _) in children_cpu(pid).items()),
    ]:
        status = Path(f"/proc/{proc}/status").read_text()
        found.append((name, int(status.split("VmRSS:")[1].split()[0])))
    return found


if __name__ == "__main__":
    main()
