"""Pipeline runner overhead: 100 no-op tasks in a chain and 100 in parallel, local engine,
against calling the same function 100 times in a loop.

Each run is the whole thing a user gets: a process per task attempt (from the pre-started
pool), the task context, the run and task records written to Delta, the log files. The first
run of a process also starts the worker pool's forkserver (it imports pyarrow, deltalake,
polars and pandas once); it is reported apart as the cold start.

Run: `.venv/bin/python benchmarks/pipeline_bench.py` (`--tasks`, `--repeat` scale it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_section
from lakestack.config import Project, load_project
from lakestack.pipelines import Records, run_job

TASKS_MODULE = """
def noop(ctx):
    return None
"""


def make_project(folder: Path, n: int) -> Project:
    chain = [f"      - {{name: t{i}, run: 'bench_tasks:noop'}}" for i in range(1)]
    chain += [
        f"      - {{name: t{i}, run: 'bench_tasks:noop', depends_on: [t{i - 1}]}}"
        for i in range(1, n)
    ]
    fan = [f"      - {{name: t{i}, run: 'bench_tasks:noop'}}" for i in range(n)]
    text = "\n".join(
        [
            "project: {name: bench}",
            "jobs:",
            "  one:",
            "    tasks:",
            "      - {name: t0, run: 'bench_tasks:noop'}",
            "  chain:",
            "    tasks:",
            *chain,
            "  fan:",
            "    tasks:",
            *fan,
            "",
        ]
    )
    (folder / "lakestack.yaml").write_text(text)
    (folder / "bench_tasks.py").write_text(TASKS_MODULE)
    return load_project(folder)


def plain_calls(n: int) -> float:
    """Seconds for n plain calls of the same function (the baseline)."""
    sys.path.insert(0, str(FOLDER))
    import bench_tasks  # type: ignore[import-not-found]

    started = time.perf_counter()
    for _ in range(n):
        bench_tasks.noop(None)
    return time.perf_counter() - started


def timed_run(project: Project, job: str) -> float:
    started = time.perf_counter()
    result = run_job(project, job, env="dev")
    elapsed = time.perf_counter() - started
    assert result.ok, result.run.error
    return elapsed


FOLDER = Path(tempfile.mkdtemp(prefix="lakestack-pipeline-bench-"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.tasks
    project = make_project(FOLDER, n)

    cold = timed_run(project, "one")  # starts the forkserver, imports deltalake here
    one = statistics.median(timed_run(project, "one") for _ in range(args.repeat))
    results: dict[str, list[float]] = {"chain": [], "fan": []}
    for _ in range(args.repeat):  # alternate, so that both see the same machine load
        for job in results:
            results[job].append(timed_run(project, job))
    baseline = plain_calls(n)
    runs = Records.for_environment(project, "dev").runs()
    assert len(runs) == 1 + args.repeat * 3

    def row(job: str) -> tuple[str, str, str, str]:
        times = results[job]
        best, median = min(times), statistics.median(times)
        per_task = (median - baseline) / n * 1000
        marginal = (median - one) / (n - 1) * 1000
        return (f"{best:.2f} s", f"{median:.2f} s", f"{per_task:.1f} ms", f"{marginal:.1f} ms")

    chain, fan = row("chain"), row("fan")
    body = f"""
## Pipeline runner: {n} no-op tasks against {n} plain function calls

The local engine ({os.cpu_count()} worker processes from the pre-started pool); every run
writes its `system.runs` and `system.task_runs` records to Delta and a log file per task.
Overhead per task = (median run time - time of {n} plain calls) / {n}; the marginal cost per
task = (median run time - median time of a 1-task run) / {n - 1}, i.e. without the fixed cost
of a run (records, worker start). {args.repeat} runs each, alternating.

| job | best run | median run | overhead per task | marginal per task |
|---|---:|---:|---:|---:|
| chain of {n} (each depends on the previous) | {chain[0]} | {chain[1]} | {chain[2]} | {chain[3]} |
| {n} independent tasks | {fan[0]} | {fan[1]} | {fan[2]} | {fan[3]} |

- {n} plain calls of the same function: {baseline * 1e6:.1f} us in all.
- A 1-task run: {one * 1000:.0f} ms (median), its fixed cost.
- The cold start, the first run of a process (it starts the forkserver, which imports
  pyarrow, deltalake, polars and pandas once for all workers): {cold:.1f} s for the 1-task run.
  This machine sets PYTHONDONTWRITEBYTECODE=1, so imports compile from source every time.

Command: `.venv/bin/python benchmarks/pipeline_bench.py --tasks {n} --repeat {args.repeat}`.
"""
    print(body)
    write_section("pipeline_bench", body)


if __name__ == "__main__":
    main()
