"""Batch scoring: `score_table` end to end vs the model's own `predict` on in-memory data.

A LightGBM booster shaped like the flights model (13 numeric features, 200 rounds, 31 leaves,
the template's defaults) is logged through `ModelRegistry` into a temporary project's prod
registry and promoted to `production`; a Delta table `silver.bench` of `--rows` rows (the 13
features and an `id`) is written to the prod lake. Then, alternating, `--repeat` times each:

- peer: `booster.predict(X)` on the same rows already in memory as one float64 NumPy matrix,
  with LightGBM's default threading (OpenMP over all cores);
- lakestack: `score_table(project, "bench@production", "silver.bench@0", "gold.bench_scores")`:
  open the Delta table, stream Arrow batches, predict, append the predictions with the source's
  columns and the run's columns (model, versions, score id, time) to a Delta table. By default
  it predicts with the model compiled by lleaves (compiled by the first run, timed apart, and
  cached); a side with `compiled=False` predicts with the booster's own `predict`;
- the compiled model's `predict` on the matrix in memory: the platform's overhead over the
  same predictions, the Delta read and write.

The overhead is lakestack's time over the peer's (best of the runs each). The breakdown times
the parts one by one on one core: predict, the Delta read into batches, the Delta writes.
`--rounds 50` gives the lighter booster of serving_bench.py.

Run: `.venv/bin/python benchmarks/batch_bench.py` (`--rows`, `--repeat`, `--rounds`,
`--no-write` to print without touching RESULTS.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_section

FEATURES = [f"f{i}" for i in range(13)]


def make_project(
    root: Path, rows: int, rounds: list[int]
) -> tuple[Any, dict[int, Any], np.ndarray]:
    """A project with a booster per round count as `bench<rounds>@production`, and
    `silver.bench` in prod.

    Returns:
        (project, the boosters by round count, the table's feature matrix).
    """
    import lightgbm as lgb
    import pandas as pd
    import pyarrow as pa
    import yaml
    from mlflow.models import infer_signature

    from lakestack.config import load_project
    from lakestack.lake import Lake
    from lakestack.registry import ModelRegistry

    doc = {
        "project": {"name": "batchbench"},
        "environments": {
            "prod": {
                "lake": ".lakestack/prod/lake",
                "tracking": "sqlite:///.lakestack/prod/mlflow.db",
                "online_store": "sqlite:///.lakestack/prod/online.db",
            }
        },
    }
    root.mkdir(parents=True)
    (root / "lakestack.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    project = load_project(root)
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(20_000, 13)), columns=FEATURES)
    signal = x["f0"] + np.sin(2 * x["f1"]) + x["f2"] * x["f3"] - 0.5 * x["f4"] ** 2
    y = (signal + rng.normal(size=len(x)) > 0).astype(int)
    params = {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_child_samples": 20,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
        "seed": 0,
    }
    registry = ModelRegistry(project, "prod")
    boosters = {}
    for count in rounds:
        booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=count)
        name = f"bench{count}"
        info = registry.log_model(
            booster, name, signature=infer_signature(x, booster.predict(x)), input_example=x[:3]
        )
        registry.promote(name, info.version, to="production", force=True, reason="benchmark")
        boosters[count] = booster
    matrix = np.random.default_rng(1).normal(size=(rows, 13))
    table = pa.table({**{f: matrix[:, i] for i, f in enumerate(FEATURES)}, "id": np.arange(rows)})
    Lake.for_environment(project, "prod").append("silver.bench", table)
    return project, boosters, matrix


def breakdown(
    project: Any, boosters: dict[int, Any], matrix: np.ndarray, batch_rows: int
) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds of each part alone: predict on one thread, read, convert, write."""
    import pyarrow as pa
    from deltalake import write_deltalake

    from lakestack.lake import Lake

    lake = Lake.for_environment(project, "prod")
    parts: dict[str, tuple[float, float]] = {}

    def predict(booster: Any) -> None:
        for start in range(0, len(matrix), batch_rows):
            booster.predict(matrix[start : start + batch_rows], num_threads=1)

    for rounds, booster in boosters.items():
        _, w, c = timed(partial(predict, booster))
        parts[f"predict, {rounds} rounds, 1 thread"] = (w, c)
    dataset = lake.open("silver.bench@0").to_pyarrow_dataset()
    batches, w, c = timed(lambda: list(dataset.to_batches(batch_size=batch_rows)))
    parts["Delta read into Arrow batches"] = (w, c)
    _, w, c = timed(
        lambda: [np.column_stack([b.column(n).to_numpy() for n in FEATURES]) for b in batches]
    )
    parts["Arrow batches to NumPy matrices"] = (w, c)
    out = pa.Table.from_batches(batches)
    out = out.append_column("prediction", pa.array(np.zeros(out.num_rows)))
    _, w, c = timed(partial(lake.append, "gold.breakdown", out))
    parts["Delta append (13 features, id, prediction), one commit"] = (w, c)
    _, w, c = timed(partial(write_deltalake, lake.path("gold.breakdown_default"), out))
    parts["the same, with the Parquet writer's default settings (dictionary tried first)"] = (w, c)
    _, w, c = timed(partial(lake.append, "gold.breakdown_id", out.select(["id", "prediction"])))
    parts["Delta append (id, prediction), one commit"] = (w, c)
    return parts


PEER = "peer: `booster.predict(X)` on the matrix in memory (default threads)"
PEER_ONE = "peer on one thread (`num_threads=1`): the CPU baseline"
COMPILED = "the compiled model's `predict(X)` on the matrix in memory (a thread per core)"
FIRST = "lakestack `score_table`, first run: compiles the model (once per version and machine)"
SIDES = {
    "lakestack `score_table` (defaults: compiled, a thread per core, all source columns)": {},
    "lakestack `score_table`, the booster's own predict (`compiled=False`)": {"compiled": False},
    "lakestack `score_table`, 1 predictor thread": {"workers": 1},
    "lakestack `score_table`, 1 append per 1M rows (`write_rows=1_000_000`)": {
        "write_rows": 1_000_000
    },
    "lakestack `score_table`, only `id` copied (`columns=['id']`)": {"columns": ["id"]},
}


def load_compiled(booster: Any, library: Path, tmp: Path) -> Any:
    """The lleaves model of `booster` from the library `score_table` compiled."""
    import lleaves

    text = tmp / "booster.txt"
    text.write_text(booster.model_to_string())
    model = lleaves.Model(model_file=str(text))
    model.compile(cache=str(library))
    return model


def timed(call: Any) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process, all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - wall, time.process_time() - cpu


Samples = dict[tuple[int, str], list[float]]


def measure(args: argparse.Namespace) -> tuple[Samples, Samples, list[float], dict[str, Any]]:
    """Wall and CPU seconds of every side, model by model, alternating; the load averages;
    the breakdown of the parts."""
    from lakestack.lake import Lake
    from lakestack.serving import score_table

    rounds = [int(r) for r in args.rounds.split(",")]
    wall: Samples = {}
    cpu: Samples = {}
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        started = time.perf_counter()
        project, boosters, matrix = make_project(Path(tmp) / "proj", args.rows, rounds)
        print(f"set-up: {time.perf_counter() - started:.1f} s", flush=True)
        lake = Lake.for_environment(project, "prod")
        out = 0
        for count, booster in boosters.items():
            model = f"bench{count}@production"
            # the first run compiles the model; it also warms up imports and the model's load
            cache = project.state_dir / "cache" / "compiled"
            before = set(cache.glob("*.so"))
            _, w, c = timed(
                partial(
                    score_table, project, model, "silver.bench@0", "gold.w", "prod", compiled=True
                )
            )
            wall[(count, FIRST)], cpu[(count, FIRST)] = [w], [c]
            booster.predict(matrix[:1000])
            (library,) = set(cache.glob("*.so")) - before
            compiled = load_compiled(booster, library, Path(tmp))
            for _ in range(args.repeat):
                loads.append(os.getloadavg()[0])
                expected, w, c = timed(partial(booster.predict, matrix))
                wall.setdefault((count, PEER), []).append(w)
                cpu.setdefault((count, PEER), []).append(c)
                _, w, c = timed(partial(booster.predict, matrix, num_threads=1))
                wall.setdefault((count, PEER_ONE), []).append(w)
                cpu.setdefault((count, PEER_ONE), []).append(c)
                _, w, c = timed(partial(compiled.predict, matrix, n_jobs=os.cpu_count()))
                wall.setdefault((count, COMPILED), []).append(w)
                cpu.setdefault((count, COMPILED), []).append(c)
                for side, options in SIDES.items():
                    out += 1
                    target = f"gold.s{out}"
                    result, w, c = timed(
                        partial(
                            score_table, project, model, "silver.bench@0", target, "prod", **options
                        )
                    )
                    wall.setdefault((count, side), []).append(w)
                    cpu.setdefault((count, side), []).append(c)
                    got = lake.read(target).sort_by("id")["prediction"].to_numpy()
                    assert result.rows == args.rows and np.allclose(got, expected), "wrong"
                print({k[1][:30]: round(v[-1], 2) for k, v in wall.items() if k[0] == count})
        parts = breakdown(project, boosters, matrix, 65_536)
    return wall, cpu, loads, parts


def run(args: argparse.Namespace) -> str:
    wall, cpu, loads, parts = measure(args)
    rounds = [int(r) for r in args.rounds.split(",")]
    rows = args.rows
    table = [
        "| model | side | wall s, best (median) | rows/s (best) | wall overhead vs peer "
        "| CPU s (median) | CPU overhead vs one-thread peer |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    summary = []
    for count in rounds:
        peer, peer_cpu = wall[(count, PEER)], statistics.median(cpu[(count, PEER_ONE)])
        for side in [PEER, PEER_ONE, COMPILED, *SIDES, FIRST]:
            took, used = wall[(count, side)], statistics.median(cpu[(count, side)])
            overhead = "" if side == PEER else f"{(min(took) / min(peer) - 1) * 100:+.0f}%"
            work = f"{(used / peer_cpu - 1) * 100:+.0f}%" if side in [*SIDES, FIRST] else ""
            table.append(
                f"| {count} rounds | {side} | {min(took):.2f} ({statistics.median(took):.2f}) "
                f"| {rows / min(took):,.0f} | {overhead} | {used:.2f} | {work} |"
            )
        default, plain = list(SIDES)[:2]
        ours, ours_cpu = wall[(count, default)], cpu[(count, default)]
        summary.append(
            f"{count} rounds: **{(min(ours) / min(peer) - 1) * 100:+.0f}%** wall, best of runs "
            f"({(statistics.median(ours) / statistics.median(peer) - 1) * 100:+.0f}% median), "
            f"{(statistics.median(ours_cpu) / peer_cpu - 1) * 100:+.0f}% CPU; not compiled "
            f"{(min(wall[(count, plain)]) / min(peer) - 1) * 100:+.0f}% wall; the Delta read "
            "and write (and the rest) over the compiled model's own predict in memory: "
            f"{(min(ours) / min(wall[(count, COMPILED)]) - 1) * 100:+.0f}% wall"
        )
    return report(args, table, summary, parts, loads)


def report(
    args: argparse.Namespace,
    table: list[str],
    summary: list[str],
    parts: dict[str, Any],
    loads: list[float],
) -> str:
    lines = [
        "## Batch scoring: `score_table` vs the model's own `predict`",
        "",
        f"{args.rows:,} rows x 13 float64 features (and an `id`) in a Delta table; LightGBM",
        "boosters with 31 leaves (the flights model's shape: 200 rounds; 50 rounds as in",
        "serving_bench), logged to a SQLite registry. The peer is `booster.predict(X)` on the same",
        "rows already in memory as one NumPy matrix, with LightGBM's default threads (OpenMP over",
        "all cores). lakestack is `score_table` end to end: Delta read, Arrow batches, predict,",
        "and Delta appends of the predictions with the source's columns, model, model version,",
        f"source table and version, score id and time. Best (and median) of {args.repeat}",
        "alternating runs; every run's output is checked against the peer's predictions. CPU",
        "seconds are the process's (all threads): against the peer on one thread they are the",
        "platform's extra work, which other load on the machine does not blur as it blurs wall",
        "time. By default lakestack predicts with the model compiled to machine code by lleaves",
        "(the same trees; predictions equal to the booster's within 1e-12): the first run of a",
        "model version compiles it (its own row, once per version and machine), later runs load",
        "the cached library. The compiled model's own `predict` in memory is the floor of a run",
        "that predicts with it.",
        "",
        *table,
        "",
        f"Against the booster's own predict (aim: under 10%): {'; '.join(summary)}.",
        "",
        "Where the time goes: each part alone, after the runs (65,536-row batches; Arrow and",
        "Delta use their own threads, so CPU can exceed wall):",
        "",
        "| part | wall s | CPU s |",
        "|---|---:|---:|",
        *[f"| {name} | {w:.2f} | {c:.2f} |" for name, (w, c) in parts.items()],
        "",
        f"Command: `.venv/bin/python benchmarks/batch_bench.py --rows {args.rows} --repeat "
        f"{args.repeat} --rounds {args.rounds}`. 1-minute load average before each round of "
        f"runs (other work shares the 2 cores): {', '.join(f'{x:.2f}' for x in loads)}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", default="200,50", help="boosters' round counts")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    body = run(args)
    print(body)
    if not args.no_write:
        write_section("batch_bench", body)


if __name__ == "__main__":
    main()
