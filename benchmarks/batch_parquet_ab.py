"""Batch scoring before and after lakestack's Parquet settings, side by side at one load.

The same project and table as batch_bench.py; alternating, `--repeat` times each: the peer
(`booster.predict(X)`, default threads and one thread), then `score_table` with the Parquet
writer's defaults (dictionary tried on every column: how lakestack wrote before) and with
lakestack's settings (`lakestack.lake._writes.writer_properties`: no dictionary for mostly
distinct numbers). The defaults are restored by swapping that function for one answering
None, the writer's defaults, in this process only. On a busy machine the wall times are
blurred by other work; the CPU seconds (the process's, all threads) much less so.

Run: `.venv/bin/python benchmarks/batch_parquet_ab.py` (`--rows`, `--repeat`, `--rounds`,
`--no-write`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_section
from batch_bench import make_project, timed

SIDES = ("peer", "peer, one thread", "score_table, writer defaults", "score_table, lakestack")


def measure(args: argparse.Namespace) -> tuple[dict[tuple[int, str], list[Any]], list[float]]:
    """(wall, CPU) samples per (rounds, side); the load average before each round of runs."""
    import lakestack.lake._writes as writes
    from lakestack.serving import score_table

    ours = writes.writer_properties
    rounds = [int(r) for r in args.rounds.split(",")]
    samples: dict[tuple[int, str], list[Any]] = {}
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="batch-ab-") as tmp:
        project, boosters, matrix = make_project(Path(tmp) / "proj", args.rows, rounds)
        for count, booster in boosters.items():
            model = f"bench{count}@production"
            score_table(project, model, "silver.bench@0", "gold.warmup", "prod")
            for i in range(args.repeat):
                loads.append(os.getloadavg()[0])
                _, w, c = timed(partial(booster.predict, matrix))
                samples.setdefault((count, SIDES[0]), []).append((w, c))
                _, w, c = timed(partial(booster.predict, matrix, num_threads=1))
                samples.setdefault((count, SIDES[1]), []).append((w, c))
                for side, props in ((SIDES[2], lambda _: None), (SIDES[3], ours)):
                    writes.writer_properties = props
                    try:
                        target = f"gold.s{count}_{i}_{SIDES.index(side)}"
                        call = partial(score_table, project, model, "silver.bench@0", target)
                        _, w, c = timed(partial(call, "prod"))
                    finally:
                        writes.writer_properties = ours
                    samples.setdefault((count, side), []).append((w, c))
                print({k[1]: round(v[-1][0], 2) for k, v in samples.items() if k[0] == count})
    return samples, loads


def report(args: argparse.Namespace) -> str:
    samples, loads = measure(args)
    lines = [
        "## Batch scoring: the Parquet writer's defaults vs lakestack's settings",
        "",
        f"`batch_parquet_ab.py`: batch_bench.py's table ({args.rows:,} rows x 13 float64",
        "features and an `id`) scored end to end by `score_table` (defaults: a predictor thread",
        "per core, all source columns copied), alternating the Parquet settings of its Delta",
        "appends: the writer's defaults (a dictionary tried on every column, as lakestack wrote",
        "before) and lakestack's (no dictionary for numeric and time columns whose values are",
        f"mostly distinct). Medians of {args.repeat} alternating runs.",
        "",
        "| model | side | wall s (median) | vs peer | CPU s (median) | vs one-thread peer |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for count in [int(r) for r in args.rounds.split(",")]:
        peer = statistics.median(w for w, _ in samples[(count, SIDES[0])])
        peer_cpu = statistics.median(c for _, c in samples[(count, SIDES[1])])
        for side in SIDES:
            wall = statistics.median(w for w, _ in samples[(count, side)])
            cpu = statistics.median(c for _, c in samples[(count, side)])
            lines.append(
                f"| {count} rounds | {side} | {wall:.2f} | {(wall / peer - 1) * 100:+.0f}% "
                f"| {cpu:.2f} | {(cpu / peer_cpu - 1) * 100:+.0f}% |"
            )
    lines += [
        "",
        f"Command: `.venv/bin/python benchmarks/batch_parquet_ab.py --rows {args.rows} "
        f"--repeat {args.repeat} --rounds {args.rounds}`. 1-minute load average before each "
        f"round of runs (other work shares the 2 cores): {', '.join(f'{x:.2f}' for x in loads)}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", default="50,200", help="boosters' round counts")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    body = report(args)
    print(body)
    if not args.no_write:
        write_section("batch_parquet_ab", body)


if __name__ == "__main__":
    main()
