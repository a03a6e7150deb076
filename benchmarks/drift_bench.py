"""Drift metrics: lakestack `compute_drift` against Evidently's DataDriftPreset.

Generates a reference and a shifted current dataset (default 1M rows x 20 columns: 15 numeric,
5 categorical), writes them once to Parquet, and runs each side in its own process so that each
peak RSS (``ru_maxrss``) covers only that side:

- lakestack, as the product works: `infer_schema` on the reference once (a separate process;
  reported, not compared), then a process that loads the stored schema and the current data
  and times `compute_drift` only. The reference data is never read there.
- Evidently 0.7 `DataDriftPreset`, which reads both datasets, in an isolated environment with
  pandas < 3 (`uv run --isolated ...`); timed: `Dataset.from_pandas` and `Report.run`.

Run from the repository root:

    .venv/bin/python benchmarks/drift_bench.py [--rows 1000000] [--repeat 5]

It writes its section of `benchmarks/RESULTS.md` between the drift_bench markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
START, END = "<!-- drift_bench:start -->", "<!-- drift_bench:end -->"
NUMERIC = [f"n{i:02d}" for i in range(15)]
CATEGORICAL = [f"c{i}" for i in range(5)]
# Columns whose distribution the current data shifts; the others keep theirs.
SHIFTED = {"n00", "n04", "n08", "n10", "n12", "c0", "c3"}


def evidently_command(script: str) -> list[str]:
    """Run a script of this folder with Evidently, which needs pandas<3, in its own environment."""
    return [
        "uv", "run", "--isolated", "--no-project",
        "--with", "evidently", "--with", "pandas<3", "--with", "pyarrow",
        "python", str(HERE / script),
    ]  # fmt: skip


EVIDENTLY = evidently_command("_evidently_drift.py")


def make_data(rows: int, *, seed: int, shifted: bool) -> Any:
    """A frame of 15 numeric columns of mixed shapes and 5 categorical ones."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC):
        move = shifted and name in SHIFTED
        shape = i % 3
        if shape == 0:
            columns[name] = rng.normal(0.5 if move else 0.0, 1.0, rows)
        elif shape == 1:
            columns[name] = rng.lognormal(3.3 if move else 3.0, 0.6, rows)
        else:
            columns[name] = rng.poisson(24 if move else 20, rows).astype(np.int64)
    for i, name in enumerate(CATEGORICAL):
        size = (5, 12, 30, 60, 150)[i]
        weights = 1.0 / np.arange(1, size + 1)
        if shifted and name in SHIFTED:
            weights = weights[::-1].copy()
        labels = np.array([f"{name}_v{j:03d}" for j in range(size)])
        columns[name] = labels[rng.choice(size, rows, p=weights / weights.sum())]
    return pl.DataFrame(columns)


def peak_rss_mb() -> float:
    """Peak resident memory of this process (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def side_infer(reference: str, schema_path: str) -> dict[str, Any]:
    import polars as pl

    from lakestack.validation import infer_schema

    data = pl.read_parquet(reference)
    start = time.perf_counter()
    schema = infer_schema(data)
    seconds = time.perf_counter() - start
    schema.save(schema_path)
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "schema_bytes": Path(schema_path).stat().st_size,
    }


def side_drift(current: str, schema_path: str, repeat: int) -> dict[str, Any]:
    import polars as pl

    from lakestack.validation import Schema, compute_drift

    schema = Schema.load(schema_path)
    data = pl.read_parquet(current)
    times = []
    report = None
    for _ in range(repeat):
        start = time.perf_counter()
        report = compute_drift(data, schema)
        times.append(time.perf_counter() - start)
    assert report is not None
    return {
        "first_seconds": times[0],
        "warm_seconds": statistics.median(times[1:]) if len(times) > 1 else times[0],
        "peak_rss_mb": peak_rss_mb(),
        "drifted": sorted(report.drifted_columns),
        "columns": len(report.columns),
    }


def run_json(command: list[str], timeout: float) -> dict[str, Any]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command[:6])} ... failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        memory = f", {mem_kb / 1024**2:.1f} GiB RAM"
    except (OSError, StopIteration):
        memory = ""
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}){memory}, "
        f"Python {platform.python_version()}"
    )


def write_section(text: str, path: Path = RESULTS) -> None:
    """Replace this benchmark's section of RESULTS.md, leaving the rest as it is."""
    section = f"{START}\n{text.rstrip()}\n{END}"
    if not path.exists():
        path.write_text(f"# Benchmark results\n\n{section}\n", encoding="utf-8")
        return
    current = path.read_text(encoding="utf-8")
    if START in current and END in current:
        before, rest = current.split(START, 1)
        after = rest.split(END, 1)[1]
        path.write_text(before + section + after, encoding="utf-8")
    else:
        path.write_text(current.rstrip() + "\n\n" + section + "\n", encoding="utf-8")


def render(
    args: argparse.Namespace,
    infer: dict[str, Any],
    ours: dict[str, Any],
    theirs: dict[str, Any] | None,
    error: str | None,
) -> str:
    import numpy
    import polars

    command = "python benchmarks/drift_bench.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in (("rows", args.rows), ("repeat", args.repeat))
    )
    mb = "{:,.0f}".format
    lines = [
        "## Drift metrics: lakestack vs Evidently DataDriftPreset",
        "",
        f"- Command: `{command}` (repository root, `.venv/bin/python`)",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}; 1-minute load average before the lakestack and Evidently "
        f"runs: {args.load['lakestack']:.2f} and {args.load['evidently']:.2f}",
        f"- Versions: lakestack side polars {polars.__version__}, numpy {numpy.__version__}"
        + (
            "; Evidently side " + ", ".join(f"{k} {v}" for k, v in theirs["versions"].items())
            if theirs
            else ""
        ),
        f"- Data: {args.rows:,} current rows vs {args.rows:,} reference rows, 20 columns "
        f"(15 numeric, 5 categorical); {len(SHIFTED)} columns shifted "
        f"({', '.join(sorted(SHIFTED))}).",
        "- Each side runs in its own process; peak memory is that process's `ru_maxrss` "
        "(interpreter, imports, data and computation).",
        "",
        "| side | timed | seconds | peak RSS (MB) | columns flagged |",
        "|---|---|---:|---:|---|",
        f"| lakestack `compute_drift`, first call | drift on the current data against the "
        f"stored schema (includes lazy SciPy import) | {ours['first_seconds']:.3f} | "
        f"{mb(ours['peak_rss_mb'])} | {', '.join(ours['drifted'])} |",
        f"| lakestack `compute_drift`, warm | median of {args.repeat - 1} further calls | "
        f"{ours['warm_seconds']:.3f} | same process | same |",
    ]
    if theirs:
        lines.append(
            f"| Evidently `DataDriftPreset` | `Dataset.from_pandas` + `Report.run` on "
            f"reference and current | {theirs['seconds']:.3f} | {mb(theirs['peak_rss_mb'])} | "
            f"{', '.join(theirs['drifted'])} |"
        )
    lines += [
        f"| lakestack `infer_schema` (one-off, not compared) | statistics of the reference, "
        f"stored as {infer['schema_bytes'] / 1024:.0f} KB of JSON | {infer['seconds']:.3f} | "
        f"{mb(infer['peak_rss_mb'])} | |",
        "",
    ]
    if theirs:
        lines += [
            f"Speed-up: **{theirs['seconds'] / ours['first_seconds']:.0f}x** on the first "
            f"call, **{theirs['seconds'] / ours['warm_seconds']:.0f}x** warm "
            "(aim: 100x). Peak memory: lakestack uses "
            f"**{ours['peak_rss_mb'] / theirs['peak_rss_mb']:.1%}** of Evidently's "
            "(aim: at most 25%).",
            "",
            f"Methods: Evidently chose {', '.join(theirs['methods'])} at this size; lakestack's "
            "default at this size is PSI > 0.2 on the baseline's bins. "
            + (
                "Both flag exactly the shifted columns."
                if set(ours["drifted"]) == set(theirs["drifted"]) == SHIFTED
                else "The flagged columns differ (see the table); the shifted ones are "
                f"{', '.join(sorted(SHIFTED))}."
            ),
        ]
    else:
        lines.append(f"Evidently did not complete: {error}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="compute_drift calls (>= 2)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds for Evidently")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    # Internal: the per-side worker processes.
    parser.add_argument("--side", choices=["infer", "drift"], help=argparse.SUPPRESS)
    parser.add_argument("--reference", help=argparse.SUPPRESS)
    parser.add_argument("--current", help=argparse.SUPPRESS)
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.side == "infer":
        print(json.dumps(side_infer(args.reference, args.schema)))
        return
    if args.side == "drift":
        print(json.dumps(side_drift(args.current, args.schema, args.repeat)))
        return

    with tempfile.TemporaryDirectory(prefix="drift_bench_") as tmp:
        reference, current, schema = (
            str(Path(tmp) / n) for n in ("ref.parquet", "cur.parquet", "schema.json")
        )
        print(f"writing {args.rows:,} x 20 reference and current rows to {tmp}", flush=True)
        make_data(args.rows, seed=args.seed, shifted=False).write_parquet(reference)
        make_data(args.rows, seed=args.seed + 1, shifted=True).write_parquet(current)
        me = [sys.executable, __file__]
        # Other work on the machine slows both sides; the report shows how busy it was.
        args.load = {"lakestack": os.getloadavg()[0]}
        infer = run_json(
            [*me, "--side", "infer", "--reference", reference, "--schema", schema], 600
        )
        print(f"lakestack infer_schema: {infer}", flush=True)
        ours = run_json(
            [
                *me,
                "--side",
                "drift",
                "--current",
                current,
                "--schema",
                schema,
                "--repeat",
                str(max(args.repeat, 2)),
            ],
            600,
        )
        print(f"lakestack compute_drift: {ours}", flush=True)
        theirs, error = None, None
        command = [
            *EVIDENTLY,
            "--reference",
            reference,
            "--current",
            current,
            "--numeric",
            ",".join(NUMERIC),
            "--categorical",
            ",".join(CATEGORICAL),
        ]
        args.load["evidently"] = os.getloadavg()[0]
        try:
            theirs = run_json(command, args.timeout)
            print(f"evidently: {theirs}", flush=True)
        except (RuntimeError, subprocess.TimeoutExpired, FileNotFoundError) as exc:
            error = str(exc).splitlines()[0]
            print(f"evidently failed: {exc}", file=sys.stderr)
    text = render(args, infer, ours, theirs, error)
    print(text)
    if not args.no_write:
        write_section(text)


if __name__ == "__main__":
    main()
