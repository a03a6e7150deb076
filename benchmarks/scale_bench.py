"""Scale benchmarks: a point-in-time training set of 10M labels x 10M feature rows.

The data (5 float features, 1M keys, event times over a year) is written once to Delta tables
(the feature table through `create_feature_table`, which stores it in key and time order);
then each contender runs in a fresh process of its own, which reads the same tables and
returns the labels in their order with the 5 features, so that its peak memory (the process's
maximum resident set) is its own:

- lakestack `FeatureStore.build_training_set`, one shot (reads the feature table from Delta);
- the same in 8 key ranges joined one after another in the process (`partitions=8`);
- the same in 4 key ranges joined in Ray tasks, on a Ray head this script starts on 127.0.0.1
  with 2 CPUs (`--ray local`, the default) or on a cluster given as `ray://host:port`;
- DuckDB's ASOF JOIN on the same data (read from the same Delta tables by `deltalake`).

The machine is shared, so each figure has CPU seconds beside wall seconds: the process's CPU
time over the timed part (all its threads), and for Ray also the CPU the head's processes
(workers included) spent meanwhile, when this script started the head.

Run: `.venv/bin/python benchmarks/scale_bench.py` (`--labels 1000000` for a quick look).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    from _results import write_section
except ImportError:  # run from another folder
    sys.path.insert(0, str(Path(__file__).parent))
    from _results import write_section

HERE = Path(__file__).parent
FEATURES = [f"f{i}" for i in range(5)]


def prepare(folder: Path, labels: int, rows: int, keys: int) -> None:
    from features_bench import make_data
    from lakestack.features import FeatureStore
    from lakestack.lake import Lake

    label_frame, features = make_data(labels, rows, keys)
    lake = Lake(folder / "lake")
    FeatureStore(lake).create_feature_table(
        "features.bench", data=features, primary_keys=["key"], timestamp_key="ts"
    )
    lake.append("bronze.labels", label_frame)


def _timed(run: Callable[[], Any]) -> dict[str, float]:
    """Wall and CPU seconds of `run`, and the row count and a feature's sum of its result."""
    import polars as pl

    wall, cpu = time.perf_counter(), time.process_time()
    frame = run()
    out = {"seconds": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
    if not isinstance(frame, pl.DataFrame):
        frame = pl.from_arrow(frame)
    assert isinstance(frame, pl.DataFrame)
    return {**out, "rows": frame.height, "f0_sum": float(frame["f0"].fill_null(0).sum())}


def _lakestack(folder: Path, **options: Any) -> dict[str, float]:
    from lakestack.features import FeatureLookup, FeatureStore
    from lakestack.lake import Lake

    lake = Lake(folder / "lake")
    labels = lake.read_polars("bronze.labels")
    lookups = [FeatureLookup("features.bench", "key", timestamp_lookup_key="ts")]
    store = FeatureStore(lake)
    return _timed(lambda: store.build_training_set(labels, lookups, **options).to_polars())


def run_lakestack(folder: Path) -> dict[str, float]:
    return _lakestack(folder)


def run_lakestack_ranges(folder: Path) -> dict[str, float]:
    return _lakestack(folder, partitions=8)


def run_lakestack_ray(folder: Path) -> dict[str, float]:
    """The join in 4 key ranges in Ray tasks on `LAKESTACK_BENCH_RAY`."""
    import ray

    address = os.environ["LAKESTACK_BENCH_RAY"]
    for attempt in range(3):  # the client's server port can clash with another Ray's here
        try:
            ray.init(address=address, log_to_driver=False)
            break
        except ConnectionError:
            if attempt == 2:
                raise
    try:
        return _lakestack(folder, engine=address, partitions=4)
    finally:
        ray.shutdown()


def run_duckdb(folder: Path) -> dict[str, float]:
    import duckdb

    from lakestack.lake import Lake

    lake = Lake(folder / "lake")
    labels = lake.read("bronze.labels")

    def join() -> Any:
        features = lake.read("features.bench")
        con = duckdb.connect()
        con.register("l", labels)
        con.register("f", features)
        select = ", ".join(f"f.{name}" for name in FEATURES)
        sql = (
            f"SELECT l.*, {select} FROM l ASOF LEFT JOIN f ON l.key = f.key AND l.ts >= f.ts "
            "ORDER BY l.label_id"
        )
        return con.sql(sql).to_arrow_table()

    return _timed(join)


def measure(kind: str, folder: Path) -> dict[str, float]:
    """Run one contender in a fresh process; its result, seconds and peak memory."""
    code = (
        "import json, resource, sys; sys.path.insert(0, sys.argv[1]); import scale_bench as b; "
        "from pathlib import Path; out = getattr(b, 'run_' + sys.argv[2])(Path(sys.argv[3])); "
        "out['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
        "print('RESULT ' + json.dumps(out))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(HERE), kind, str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"{kind} failed: {done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, float] = json.loads(line.removeprefix("RESULT "))
    return result


def _group_cpu(session: int) -> float:
    """CPU seconds of the live processes of a session (theirs and their reaped children's)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session:  # fields from the state on: state ppid pgrp session ...
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / tick


@contextmanager
def ray_head(cpus: int = 2) -> Iterator[tuple[str, int]]:
    """`ray start --head --block` on 127.0.0.1 in a session of its own (stopped after): its
    Ray Client address and session id (the head's pid)."""
    from lakestack.errors import ServingError
    from lakestack.serving import ServerProcess, free_port

    temp_dir = Path(tempfile.mkdtemp(prefix="lkbench"))  # short: Ray's socket paths
    port, client_port = free_port(), free_port()
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    command = [
        str(Path(sys.executable).parent / "ray"),
        *("start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}"),
        *(f"--ray-client-server-port={client_port}", f"--num-cpus={cpus}"),
        *("--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}"),
    ]
    os.environ.update(env)  # the contenders' processes connect with the token
    # This machine sets PYTHONDONTWRITEBYTECODE=1: every Ray process would compile its imports
    # afresh, and on a loaded machine the raylet misses Ray's 30 s start deadline.
    head_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    head_env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "lakestack-bench-pycache")
    server = None
    try:
        for attempt in range(3):  # a loaded machine can exceed Ray's 30 s raylet start wait
            server = ServerProcess(
                command, client_port, temp_dir / f"head-{attempt}.log", ready_path=None,
                env=head_env, name="ray head", own_group=True,
            )  # fmt: skip
            try:
                server.start(timeout=300)
                break
            except ServingError:
                if attempt == 2:
                    raise
        assert server is not None and server.process is not None
        yield f"ray://127.0.0.1:{client_port}", server.process.pid
    finally:
        if server is not None:
            server.stop(timeout=60)
        shutil.rmtree(temp_dir, ignore_errors=True)


def run_all(
    folder: Path, kinds: list[str], repeats: int, session: int | None
) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for kind in kinds:
        runs = []
        for _ in range(repeats):
            before = _group_cpu(session) if session and kind == "lakestack_ray" else 0.0
            run = measure(kind, folder)
            if session and kind == "lakestack_ray":
                run["cluster_cpu"] = _group_cpu(session) - before
            runs.append(run)
        best = min(runs, key=lambda r: r["seconds"])
        best["peak_mb"] = max(r["peak_mb"] for r in runs)
        best["cpu"] += best.get("cluster_cpu", 0.0)
        results[kind] = best
        print(
            f"{kind:>16}: {best['seconds']:.2f} s, CPU {best['cpu']:.2f} s, "
            f"peak {best['peak_mb']:.0f} MB, load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    return results


NAMES = {
    "lakestack": "lakestack `build_training_set`, one shot",
    "lakestack_ranges": "lakestack, 8 key ranges one after another (`partitions=8`)",
    "lakestack_ray": "lakestack on Ray, 4 key ranges in Ray tasks",
    "duckdb": "DuckDB ASOF JOIN, labels' order",
}


def report(args: argparse.Namespace, results: dict[str, dict[str, float]], load: str) -> str:
    duck = results["duckdb"]
    rows = []
    for kind, r in results.items():
        name = NAMES[kind]
        if kind == "lakestack_ray":
            where = "a head started here, 2 CPUs" if args.ray == "local" else args.ray
            cpu_note = "driver + cluster" if "cluster_cpu" in r else "driver only"
            name += f" ({where}; CPU: {cpu_note}; memory: the driver's)"
        rows.append(
            f"| {name} | {r['seconds']:.2f} | {r['cpu']:.2f} | {r['peak_mb']:.0f} | "
            f"{r['seconds'] / duck['seconds']:.2f} | {r['cpu'] / duck['cpu']:.2f} |"
        )
    command = ".venv/bin/python benchmarks/scale_bench.py"
    if (args.labels, args.rows, args.keys) != (10_000_000, 10_000_000, 1_000_000):
        command += f" --labels {args.labels} --rows {args.rows} --keys {args.keys}"
    if args.ray != "local":
        command += f" --ray {args.ray}"
    end = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    table = "\n".join(rows)
    return f"""## Scale: a 10M x 10M point-in-time training set

{args.labels:,} labels x {args.rows:,} feature rows (5 float features, {args.keys:,} keys, event
times over a year), both read from Delta tables (the feature table as `create_feature_table`
stores it: in key and time order); each contender in a fresh process, best of {args.repeats} by
wall time. Seconds include reading the feature table; CPU seconds are the process's (all its
threads) over the same span, plus, on Ray, the head's and its workers'; peak memory is the
process's maximum resident set (the labels it read included).

| implementation | seconds | CPU seconds | peak memory (MB) | seconds / DuckDB's | CPU / DuckDB's |
|---|---:|---:|---:|---:|---:|
{table}

The results were checked equal (row count and the sum of a feature). On Ray the CPU includes
starting the task workers (each imports lakestack and Polars) and moving the labels' ranges and
the results through Ray's object store. Command: `{command}`.
Load average (1/5/15 min) at the start: {load}; at the end: {end}. The 2 cores were shared
with other work: wall seconds stretch with the load, CPU seconds much less.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=10_000_000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--ray",
        default="local",
        help="`local`: start a Ray head here (2 CPUs); ray://host:port: a cluster that sees "
        "/tmp; `none`: leave Ray out.",
    )
    parser.add_argument("--no-write", action="store_true", help="Do not update RESULTS.md.")
    args = parser.parse_args()
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    folder = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    try:
        prepare(folder, args.labels, args.rows, args.keys)
        kinds = ["lakestack", "lakestack_ranges", "duckdb"]
        if args.ray == "none":
            results = run_all(folder, kinds, args.repeats, None)
        elif args.ray == "local":
            with ray_head() as (address, session):
                os.environ["LAKESTACK_BENCH_RAY"] = address
                results = run_all(folder, [*kinds, "lakestack_ray"], args.repeats, session)
        else:
            os.environ["LAKESTACK_BENCH_RAY"] = args.ray
            results = run_all(folder, [*kinds, "lakestack_ray"], args.repeats, None)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    duck = results["duckdb"]
    for r in results.values():
        assert r["rows"] == duck["rows"] == args.labels
        assert abs(r["f0_sum"] - duck["f0_sum"]) <= 1e-6 * max(1.0, abs(duck["f0_sum"]))
    body = report(args, results, load)
    print(body)
    if not args.no_write:
        write_section("scale_bench", body)


if __name__ == "__main__":
    main()
