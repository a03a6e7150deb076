"""From a data file to a production model: the commands and their seconds on a 100k-row file.

A new user's path with no code written: `lakestack init` on the file, a git commit, the model
trained and gated in dev, the merged code deployed to staging and trained there, the release
deployed to prod where `retraining` moves a version to `production` through the production
gates. Each command runs as a user runs it (a fresh process of the installed CLI), timed from
start to exit. The peer is the path before `init --data` existed, as tried by a new user on a
regression dataset: about 45 commands, 136 lines of task code and three workarounds.

Run: `.venv/bin/python benchmarks/deploy_bench.py [--rows 100000] [--no-write]`
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from _results import write_section

BIN = Path(sys.executable).parent
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def customers(rows: int, seed: int = 0) -> pl.DataFrame:
    """Customers who churn or not: an id, a signup time, numbers, categories, free text."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows).astype(float)
    charges = rng.normal(70, 20, rows)
    calls = rng.poisson(2, rows)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    logit = -1.0 - 0.04 * tenure + 0.03 * (charges - 70) + 0.4 * calls + 1.2 * (plan == "basic")
    start = datetime(2024, 1, 1)
    return pl.DataFrame(
        {
            "customer_id": [f"c{i:07d}" for i in range(rows)],
            "signup_ts": [start + timedelta(minutes=5 * i) for i in range(rows)],
            "tenure_months": tenure,
            "monthly_charges": charges,
            "support_calls": calls,
            "plan": plan,
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "churned": rng.random(rows) < 1 / (1 + np.exp(-logit)),
        }
    )


def timed(command: str, cwd: Path) -> float:
    """Seconds a shell command takes; it must succeed."""
    env = {**os.environ, **GIT_IDENTITY, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    started = time.perf_counter()
    done = subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"`{command}` failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-write", action="store_true", help="Print, do not write RESULTS.md.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        customers(args.rows).write_parquet(root / "customers.parquet")
        project = root / "churn"
        steps = [
            ("lakestack init churn --data customers.parquet --label churned", root),
            ("git init -q -b main && git add -A && git commit -qm 'first version'", project),
            ("lakestack run ingest", project),
            ("lakestack run training", project),
            ("lakestack deploy --env staging --run ingest --run training", project),
            ("git tag v1.0.0", project),
            ("lakestack deploy --env prod --run ingest --run retraining", project),
        ]
        rows = []
        for command, cwd in steps:
            seconds = timed(command, cwd)
            rows.append((command, seconds))
            print(f"{seconds:8.1f} s  {command}", flush=True)
        from lakestack.config import load_project
        from lakestack.registry import ModelRegistry

        holder = ModelRegistry(load_project(project), "prod").alias_holder("churn", "production")
        if holder is None:
            raise SystemExit("no version holds production in prod")
    total = sum(seconds for _, seconds in rows)
    lakestack_commands = sum(1 for command, _ in rows if command.startswith("lakestack"))
    lines = [
        f"## From a data file to a production model ({args.rows:,} rows, `benchmarks/deploy_bench.py`)",
        "",
        "Command: `.venv/bin/python benchmarks/deploy_bench.py`. Each command is a fresh process "
        "of the CLI, timed from start to exit, in order; no code written.",
        "",
        "| command | seconds |",
        "|---|---|",
        *(f"| `{command}` | {seconds:.1f} |" for command, seconds in rows),
        f"| **total** | **{total:.1f}** |",
        "",
        f"{len(rows)} commands ({lakestack_commands} of lakestack, the others git), 0 lines of "
        "code, no workaround, to a version holding `production` in prod after the production "
        "gates (no regression, the infrastructure check in a fresh process); before "
        "`lakestack init --data`, a new user needed about 45 commands, 136 lines of task code "
        "and three workarounds on a regression dataset.",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("deploy", body)


if __name__ == "__main__":
    main()
