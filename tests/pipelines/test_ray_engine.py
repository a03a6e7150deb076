"""The Ray engine on a Ray cluster started by the tests (`ray start --head` on 127.0.0.1),
selected by `engine: ray://127.0.0.1:<port>` in lakestack.yaml: the same records, results and
lineage as the local engine, and a worker killed mid-task is retried per the task's retries."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from _pipelines_kit import outcome, task, write_project

from _kit.clusters import RayCluster
from lakestack.config import Project
from lakestack.pipelines import Records, RunResult, run_job, table_lineage

JOB = {
    "tasks": [
        task("load", "write_rows", params={"table": "bronze.src"}),
        task("copy", "copy_table", "load", params={"source": "bronze.src", "target": "silver.dst"}),
        task("chat", "chatty", params={"who": "ray"}),
        task("flaky", "flaky", params={"succeed_on": 2}, retries=1, retry_delay=0.01),
        task("crash", "exit_hard"),
    ]
}


def on_engine(engine: str) -> dict[str, Any]:
    """The `environments:` of a project whose dev environment runs on `engine`."""
    return {
        "environments": {
            "dev": {
                "lake": ".lakestack/dev/lake",
                "tracking": "sqlite:///.lakestack/dev/mlflow.db",
                "online_store": "sqlite:///.lakestack/dev/online.db",
                "engine": engine,
            }
        }
    }


def test_a_job_on_the_ray_cluster_gives_the_same_records_as_on_the_local_engine(
    tmp_path: Path, ray_cluster: RayCluster
) -> None:
    project = write_project(tmp_path / "on_ray", {"mixed": JOB}, **on_engine(ray_cluster.address))
    assert project.environment("dev").engine == ray_cluster.address
    on_ray = run_job(project, "mixed", env="dev")  # the engine of lakestack.yaml
    local_project = write_project(tmp_path / "on_local", {"mixed": JOB}, **on_engine("local"))
    on_local = run_job(local_project, "mixed", env="dev")
    assert on_ray.run.engine == ray_cluster.address and on_local.run.engine == "local"
    assert on_ray.status == on_local.status == "failed"  # `crash` exits its process
    assert [outcome(t) for t in on_ray.tasks] == [outcome(t) for t in on_local.tasks]
    crash = on_ray.task("crash")
    assert crash.status == "failed" and "Ray worker failed" in (crash.error or "")
    assert on_ray.output("chat") == "dev:ray"
    lineage = table_lineage(project, "silver.dst", env="dev")
    assert [(e.run_id, e.version) for e in lineage.writes] == [
        (on_ray.run_id, 0),
        (on_ray.run_id, 1),
    ]
    assert lineage.upstream_tables == ["bronze.src"]


def test_engine_ray_joins_the_running_ray_of_this_machine(
    tmp_path: Path, ray_cluster: RayCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`engine: ray` (no address) joins the Ray that runs here (`RAY_ADDRESS`, as `ray start`
    sets it for its node) and gives the records of the local engine."""
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.gcs_address)
    job = {"mixed": {"tasks": JOB["tasks"][:3]}}
    project = write_project(tmp_path / "on_ray", job, **on_engine("ray"))
    assert project.environment("dev").engine == "ray"
    on_ray = run_job(project, "mixed", env="dev")
    local_project = write_project(tmp_path / "on_local", job, **on_engine("local"))
    on_local = run_job(local_project, "mixed", env="dev")
    assert on_ray.run.engine == "ray" and on_ray.status == on_local.status == "succeeded"
    assert [outcome(t) for t in on_ray.tasks] == [outcome(t) for t in on_local.tasks]
    assert on_ray.output("chat") == "dev:ray"
    # this process was a driver of the running cluster, not of a Ray it started
    drivers = ray_cluster.temp_dir.glob(f"session_*/logs/python-core-driver-*_{os.getpid()}.log")
    assert list(drivers), "the run did not join the running cluster"


def _kill_when_written(pid_file: Path, killed: list[int], deadline_s: float = 240.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        text = pid_file.read_text() if pid_file.exists() else ""
        if text:
            os.kill(int(text), signal.SIGKILL)
            killed.append(int(text))
            return
        time.sleep(0.1)


def _run_killing_the_victim(
    tmp_path: Path, ray_cluster: RayCluster, *, retries: int, then: tuple[dict[str, Any], ...] = ()
) -> tuple[Project, RunResult, list[int]]:
    """Run a job whose task `victim` has its Ray worker SIGKILLed mid-task (and `then` after
    it); the project, the result, and the pids killed."""
    pid_file = tmp_path / "worker.pid"
    victim = task(
        "victim", "wait_to_be_killed", params={"pid_file": str(pid_file)}, retries=retries
    )
    job = {"tasks": [victim, *then]}
    project = write_project(tmp_path / "proj", {"kill": job}, **on_engine(ray_cluster.address))
    killed: list[int] = []
    killer = threading.Thread(target=_kill_when_written, args=(pid_file, killed), daemon=True)
    killer.start()
    result = run_job(project, "kill", env="dev")
    killer.join(5)
    return project, result, killed


def test_a_worker_killed_mid_task_is_retried_per_the_tasks_retries(
    tmp_path: Path, ray_cluster: RayCluster
) -> None:
    project, result, killed = _run_killing_the_victim(
        tmp_path, ray_cluster, retries=1, then=(task("after", "noop", "victim"),)
    )
    assert killed, "the first attempt never wrote its pid"
    victim = result.task("victim")
    assert result.status == "succeeded"
    assert victim.attempt == 2 and victim.output["attempt"] == 2
    assert victim.output["pid"] != killed[0]  # a new Ray worker ran the retry
    attempts = [t for t in Records.for_environment(project, "dev").task_runs(result.run_id)]
    first = [t for t in attempts if t.task == "victim" and t.attempt == 1]
    assert len(first) == 1 and first[0].status == "failed"
    assert "Ray worker failed" in (first[0].error or "")


def test_without_retries_a_killed_worker_fails_the_task_and_says_so(
    tmp_path: Path, ray_cluster: RayCluster
) -> None:
    _, result, killed = _run_killing_the_victim(tmp_path, ray_cluster, retries=0)
    victim = result.task("victim")
    assert killed and result.status == "failed" and victim.attempt == 1
    assert "Ray worker failed" in (victim.error or "")
