"""The Ray engine on a real local Ray: the same job, the same results, records and lineage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _pipelines_kit import task, write_project

from lakestack.pipelines import RunResult, TaskRun, run_job, table_lineage

ray = pytest.importorskip("ray", reason="the ray engine needs Ray: pip install 'lakestack[ray]'")

JOB = {
    "tasks": [
        task("load", "write_rows", params={"table": "bronze.src"}),
        task("copy", "copy_table", "load", params={"source": "bronze.src", "target": "silver.dst"}),
        task("chat", "chatty", params={"who": "ray"}),
        task("flaky", "flaky", params={"succeed_on": 2}, retries=1, retry_delay=0.01),
        task("crash", "exit_hard"),
    ]
}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def summary(result: RunResult) -> list[tuple[Any, ...]]:
    def one(t: TaskRun) -> tuple[Any, ...]:
        return (
            t.task,
            t.status,
            t.attempt,
            t.output,
            t.metrics,
            t.mlflow_run_ids,
            [(a.table, a.version, a.operation) for a in t.reads],
            [(a.table, a.version, a.operation) for a in t.writes],
        )

    return [one(t) for t in result.tasks]


def test_a_job_on_ray_gives_the_same_records_as_on_the_local_engine(
    tmp_path: Path, local_ray: None
) -> None:
    project = write_project(tmp_path / "on_ray", {"mixed": JOB})
    on_ray = run_job(project, "mixed", env="dev", engine="ray")
    local_project = write_project(tmp_path / "on_local", {"mixed": JOB})
    on_local = run_job(local_project, "mixed", env="dev", engine="local")
    assert on_ray.run.engine == "ray" and on_local.run.engine == "local"
    assert on_ray.status == on_local.status == "failed"  # `crash` exits its process
    assert summary(on_ray) == summary(on_local)
    crash = on_ray.task("crash")
    assert crash.status == "failed" and "Ray worker failed" in (crash.error or "")
    assert on_ray.output("chat") == "dev:ray"
    lineage = table_lineage(project, "silver.dst", env="dev")
    assert [(e.run_id, e.version) for e in lineage.writes] == [
        (on_ray.run_id, 0),
        (on_ray.run_id, 1),
    ]
    assert lineage.upstream_tables == ["bronze.src"]
