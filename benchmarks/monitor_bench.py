"""One monitor pass: lakestack `run_monitor` against Evidently's DataDriftPreset per window.

Generates 1M inference rows x 20 feature columns (15 numeric, 5 categorical, as
`drift_bench.py`) over 24 hourly windows, the last 12 shifted, and a reference (training) set
of the same size. Each side runs in its own process so that its peak RSS (`ru_maxrss`) covers
only that side:

- lakestack: the rows are appended to `inference.bench` of a temporary project (not timed),
  the baseline schema is inferred from the reference (not timed), then one `run_monitor` pass
  is timed: read the table, profile every window (count, nulls, mean, quantiles, frequencies),
  drift of every window against the baseline *and* the previous window, merges into the
  `monitoring.*` tables. A second pass (nothing new) is timed too.
- Evidently 0.7 `DataDriftPreset` on each window against the reference, in an isolated
  environment with pandas < 3 (`uv run --isolated ...`); timed: the 24 reports.

Run from the repository root:

    .venv/bin/python benchmarks/monitor_bench.py [--rows 1000000] [--windows 24]

It writes its section of `benchmarks/RESULTS.md` (`_results.write_section("monitor_bench")`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import write_section  # noqa: E402
from drift_bench import CATEGORICAL, NUMERIC, SHIFTED, evidently_command, make_data, run_json  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVIDENTLY = evidently_command("_evidently_monitor.py")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_inference(rows: int, windows: int, seed: int) -> Any:
    """`rows` rows over `windows` hours from T0; the second half of the hours is shifted."""
    import numpy as np
    import polars as pl

    half = rows // 2
    frame = pl.concat(
        [
            make_data(half, seed=seed, shifted=False),
            make_data(rows - half, seed=seed + 1, shifted=True),
        ]
    )
    offsets = np.linspace(0, windows * 3600 * 10**6 - 1, rows).astype(np.int64)
    ts = pl.Series("ts", offsets).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    ts = ts + (T0 - datetime(1970, 1, 1, tzinfo=UTC))
    return frame.with_columns(ts, pl.lit(0.5).alias("prediction"))


def side_lakestack(folder: str, current: str, reference: str, windows: int) -> dict[str, Any]:
    import polars as pl
    import yaml

    from lakestack.config import load_project
    from lakestack.lake import Lake
    from lakestack.monitoring import metric_tables, run_monitor
    from lakestack.validation import infer_schema

    root = Path(folder)
    monitor = {"table": "inference.bench", "model": "bench", "window": "1h"}
    monitor["baseline"] = {"schema_file": "baseline.json"}  # type: ignore[assignment]
    config = {"project": {"name": "bench"}, "monitors": {"bench": monitor}}
    (root / "lakestack.yaml").write_text(yaml.safe_dump(config))
    infer_schema(pl.read_parquet(reference)).save(root / "baseline.json")
    project = load_project(root)
    lake = Lake.for_environment(project, "dev")
    lake.append("inference.bench", pl.read_parquet(current))
    now = T0 + timedelta(hours=windows, minutes=1)
    start = time.perf_counter()
    result = run_monitor(project, "bench", "dev", now=now)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    again = run_monitor(project, "bench", "dev", now=now)
    rerun = time.perf_counter() - start
    drift = lake.read_polars(metric_tables("bench")["drift"])
    last = drift.filter(
        (pl.col("window_start") == drift["window_start"].max())
        & (pl.col("reference") == "baseline")
    )
    return {
        "seconds": seconds,
        "rerun_seconds": rerun,
        "rerun_windows": len(again.windows),
        "peak_rss_mb": peak_rss_mb(),
        "windows": len(result.windows),
        "profile_rows": result.profile_rows,
        "drift_rows": result.drift_rows,
        "drifted_last": sorted(last.filter(pl.col("drifted"))["column"].to_list()),
    }


def render(
    args: argparse.Namespace, ours: dict[str, Any], theirs: dict[str, Any] | None, error: str | None
) -> str:
    import polars

    mb = "{:,.0f}".format
    lines = [
        "## Monitoring: one monitor pass vs Evidently DataDriftPreset per window",
        "",
        f"- Command: `python benchmarks/monitor_bench.py --rows {args.rows} --windows {args.windows}`",
        f"- 1-minute load average before the lakestack and Evidently runs: "
        f"{args.load['lakestack']:.2f} and {args.load.get('evidently', float('nan')):.2f} "
        "(2 cores shared with other work)",
        f"- Data: {args.rows:,} inference rows x 20 feature columns (15 numeric, 5 categorical) "
        f"in {args.windows} hourly windows, the second half shifted on {len(SHIFTED)} columns; "
        f"reference {args.rows:,} rows. polars {polars.__version__}"
        + (
            "; Evidently side " + ", ".join(f"{k} {v}" for k, v in theirs["versions"].items())
            if theirs
            else ""
        ),
        "",
        "| side | timed | seconds | peak RSS (MB) | last window flagged |",
        "|---|---|---:|---:|---|",
        f"| lakestack `run_monitor` | read the Delta table; profile ({ours['profile_rows']:,} rows), "
        f"drift vs baseline and vs previous window ({ours['drift_rows']:,} rows) of "
        f"{ours['windows']} windows; merge into monitoring tables | {ours['seconds']:.2f} | "
        f"{mb(ours['peak_rss_mb'])} | {', '.join(ours['drifted_last'])} |",
        f"| lakestack rerun | nothing new ({ours['rerun_windows']} windows) | "
        f"{ours['rerun_seconds']:.2f} | same process | |",
    ]
    if theirs:
        lines.append(
            f"| Evidently `DataDriftPreset` | {theirs['windows']} reports, window vs reference "
            f"(baseline only, no profile, nothing stored) | {theirs['seconds']:.2f} | "
            f"{mb(theirs['peak_rss_mb'])} | {', '.join(theirs['drifted_last'])} |"
        )
        lines += [
            "",
            f"lakestack does more per window (two references, profiles, Delta merges) in "
            f"**{theirs['seconds'] / ours['seconds']:.1f}x** less time and "
            f"**{ours['peak_rss_mb'] / theirs['peak_rss_mb']:.0%}** of Evidently's peak memory.",
        ]
    else:
        lines += ["", f"Evidently did not complete: {error}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--windows", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds for Evidently")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    parser.add_argument("--side", choices=["lakestack"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--current", help=argparse.SUPPRESS)
    parser.add_argument("--reference", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side == "lakestack":
        print(json.dumps(side_lakestack(args.folder, args.current, args.reference, args.windows)))
        return

    with tempfile.TemporaryDirectory(prefix="monitor_bench_") as tmp:
        current, reference = str(Path(tmp) / "cur.parquet"), str(Path(tmp) / "ref.parquet")
        print(f"writing {args.rows:,} inference and reference rows to {tmp}", flush=True)
        make_inference(args.rows, args.windows, args.seed).write_parquet(current)
        make_data(args.rows, seed=args.seed + 2, shifted=False).write_parquet(reference)
        (Path(tmp) / "proj").mkdir()
        args.load = {"lakestack": os.getloadavg()[0]}
        ours = run_json(
            [
                sys.executable,
                __file__,
                "--side",
                "lakestack",
                "--folder",
                str(Path(tmp) / "proj"),
                "--current",
                current,
                "--reference",
                reference,
                "--windows",
                str(args.windows),
            ],
            1800,
        )
        print(f"lakestack: {ours}", flush=True)
        theirs, error = None, None
        args.load["evidently"] = os.getloadavg()[0]
        command = [
            *EVIDENTLY,
            "--reference",
            reference,
            "--current",
            current,
            "--time",
            "ts",
            "--window-seconds",
            "3600",
            "--numeric",
            ",".join(NUMERIC),
            "--categorical",
            ",".join(CATEGORICAL),
        ]
        try:
            theirs = run_json(command, args.timeout)
            print(f"evidently: {theirs}", flush=True)
        except (RuntimeError, subprocess.TimeoutExpired, FileNotFoundError) as exc:
            error = str(exc).splitlines()[0]
            print(f"evidently failed: {exc}", file=sys.stderr)
    text = render(args, ours, theirs, error)
    print(text)
    if not args.no_write:
        write_section("monitor_bench", text)


if __name__ == "__main__":
    main()
