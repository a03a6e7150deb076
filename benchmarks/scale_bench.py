"""Scale benchmarks: a point-in-time training set of 10M labels x 10M feature rows.

The data (5 float features, 1M keys, event times over a year) is written once to Delta tables;
then each contender runs in a fresh process of its own, which reads the same tables and
returns the labels in their order with the 5 features, so that its peak memory (the process's
maximum resident set) is its own:

- lakestack `FeatureStore.build_training_set` (reads the feature table from Delta);
- the same, split into key ranges joined in Ray tasks (`engine="ray"`, a local Ray of 2 CPUs);
- DuckDB's ASOF JOIN on the same data (read from the same Delta tables by `deltalake`).

Run: `.venv/bin/python benchmarks/scale_bench.py` (`--labels 1000000` for a quick look).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    from _results import write_section
except ImportError:  # run from another folder
    sys.path.insert(0, str(Path(__file__).parent))
    from _results import write_section

HERE = Path(__file__).parent


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


def run_lakestack(folder: Path) -> dict[str, float]:
    from lakestack.features import FeatureLookup, FeatureStore
    from lakestack.lake import Lake

    lake = Lake(folder / "lake")
    labels = lake.read_polars("bronze.labels")
    started = time.perf_counter()
    result = FeatureStore(lake).build_training_set(
        labels, [FeatureLookup("features.bench", "key", timestamp_lookup_key="ts")]
    )
    frame = result.to_polars()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": frame.height,
        "f0_sum": float(frame["f0"].fill_null(0).sum()),
    }


def run_lakestack_ray(folder: Path) -> dict[str, float]:
    """The same join split into 4 key ranges joined in Ray tasks on `LAKESTACK_BENCH_RAY`."""
    import ray

    from lakestack.features import FeatureLookup, FeatureStore
    from lakestack.lake import Lake

    ray.init(address=os.environ["LAKESTACK_BENCH_RAY"], log_to_driver=False)
    lake = Lake(folder / "lake")
    labels = lake.read_polars("bronze.labels")
    started = time.perf_counter()
    result = FeatureStore(lake).build_training_set(
        labels,
        [FeatureLookup("features.bench", "key", timestamp_lookup_key="ts")],
        engine=os.environ["LAKESTACK_BENCH_RAY"],
        partitions=4,
    )
    frame = result.to_polars()
    seconds = time.perf_counter() - started
    ray.shutdown()
    return {
        "seconds": seconds,
        "rows": frame.height,
        "f0_sum": float(frame["f0"].fill_null(0).sum()),
    }


def run_duckdb(folder: Path) -> dict[str, float]:
    import duckdb

    from lakestack.lake import Lake

    lake = Lake(folder / "lake")
    labels = lake.read("bronze.labels")
    started = time.perf_counter()
    features = lake.read("features.bench")
    con = duckdb.connect()
    con.register("l", labels)
    con.register("f", features)
    select = ", ".join(f"f.f{i}" for i in range(5))
    sql = (
        f"SELECT l.*, {select} FROM l ASOF LEFT JOIN f ON l.key = f.key AND l.ts >= f.ts "
        "ORDER BY l.label_id"
    )
    table = con.sql(sql).to_arrow_table()
    seconds = time.perf_counter() - started
    import pyarrow.compute as pc

    f0 = pc.sum(pc.fill_null(table.column("f0"), 0.0)).as_py()
    return {"seconds": seconds, "rows": table.num_rows, "f0_sum": float(f0)}


def measure(kind: str, folder: Path) -> dict[str, float]:
    """Run one contender in a fresh process; its result, wall seconds and peak memory."""
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
        check=True,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, float] = json.loads(line.removeprefix("RESULT "))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=10_000_000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--ray",
        help="A Ray cluster (ray://host:port) to run the join on as well (it must see /tmp).",
    )
    parser.add_argument("--no-write", action="store_true", help="Do not update RESULTS.md.")
    args = parser.parse_args()
    if args.ray:
        os.environ["LAKESTACK_BENCH_RAY"] = args.ray
    folder = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    prepare(folder, args.labels, args.rows, args.keys)
    results: dict[str, dict[str, float]] = {}
    for kind in ("lakestack", "duckdb", *(["lakestack_ray"] if args.ray else [])):
        runs = [measure(kind, folder) for _ in range(args.repeats)]
        best = min(runs, key=lambda r: r["seconds"])
        best["peak_mb"] = max(r["peak_mb"] for r in runs)
        results[kind] = best
        print(f"{kind:>10}: {best['seconds']:.2f} s, peak {best['peak_mb']:.0f} MB", flush=True)
    mine, theirs = results["lakestack"], results["duckdb"]
    ray = results.get("lakestack_ray")
    for other in (theirs, *([ray] if ray else [])):
        assert mine["rows"] == other["rows"] == args.labels
        assert abs(mine["f0_sum"] - other["f0_sum"]) <= 1e-6 * max(1.0, abs(theirs["f0_sum"]))
    command = ".venv/bin/python benchmarks/scale_bench.py"
    if (args.labels, args.rows, args.keys) != (10_000_000, 10_000_000, 1_000_000):
        command += f" --labels {args.labels} --rows {args.rows} --keys {args.keys}"
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    ray_row = (
        f"| lakestack on Ray: 4 key ranges in Ray tasks on {args.ray} (driver's memory) | "
        f"{ray['seconds']:.2f} | {ray['peak_mb']:.0f} | {ray['seconds'] / theirs['seconds']:.2f} |"
        if ray
        else "| lakestack on Ray | not measured in this run (pass `--ray ray://host:port`) | | |"
    )
    if args.ray:
        command += f" --ray {args.ray}"
    body = f"""## Scale: a 10M x 10M point-in-time training set

{args.labels:,} labels x {args.rows:,} feature rows (5 float features, {args.keys:,} keys, event
times over a year), both read from Delta tables; each contender in a fresh process, best of
{args.repeats}; peak memory is the process's maximum resident set (the labels it read included).

| implementation | seconds | peak memory (MB) | ratio to DuckDB (seconds) |
|---|---:|---:|---:|
| lakestack `build_training_set` (incl. the feature table's Delta read) | {mine["seconds"]:.2f} | {mine["peak_mb"]:.0f} | {mine["seconds"] / theirs["seconds"]:.2f} |
{ray_row}
| DuckDB ASOF JOIN, labels' order (incl. the feature table's Delta read) | {theirs["seconds"]:.2f} | {theirs["peak_mb"]:.0f} | 1.00 |

The results were checked equal (row count and the sum of a feature). On Ray each task reads
only its key range of the feature table; the peak shown for it is the driver's (labels, the
gathered result), not the Ray workers'. Command: `{command}`.
Load average at the end (1/5/15 min): {load}; other work shared the 2 cores.
"""
    if not args.no_write:
        write_section("scale_bench", body)


if __name__ == "__main__":
    main()
