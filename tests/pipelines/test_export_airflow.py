"""`lakestack export airflow` with a real Airflow, in an environment of its own (`uv run
--isolated`, since Airflow pins much of what lakestack's lock also pins): the DAG imports
without errors, has a task per lakestack task with its retries and timeout, and
`airflow dags test` leaves the same run records and lineage as `lakestack run`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _pipelines_kit import outcome, task, write_project

from lakestack.pipelines import Records, run_job, table_lineage

AIRFLOW = "apache-airflow==3.3.2"
CHECK = Path(__file__).with_name("_airflow_check.py")
BIN = Path(sys.executable).parent

JOB = {
    "schedule": "0 3 * * *",
    "tasks": [
        task("load", "write_rows", params={"table": "bronze.src"}),
        task("copy", "copy_table", "load", params={"source": "bronze.src", "target": "silver.dst"}),
        task("flaky", "flaky", params={"succeed_on": 2}, retries=1, retry_delay=0.5, timeout=600),
    ],
}


def uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    probe = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True)
    if probe.returncode == 0:
        return [sys.executable, "-m", "uv"]
    message = (
        "the Airflow test installs Airflow with uv, which is not installed (make setup installs it)"
    )
    if os.environ.get("LAKESTACK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message}, and LAKESTACK_REQUIRE_SERVICES=1 requires it")
    pytest.skip(message)


def in_airflow(home: Path, dags: Path, script: str) -> subprocess.CompletedProcess[str]:
    """A bash script in an isolated environment with Airflow, its metadata database in `home`."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    command = [*uv(), "run", "--isolated", "--no-project", "--python", python, "--with", AIRFLOW]
    return subprocess.run(
        [*command, "bash", "-c", script],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=900,
    )


def attempts(records: Records, run_id: str) -> list[tuple[str, int, str]]:
    return sorted((t.task, t.attempt, t.status) for t in records.task_runs(run_id))


def test_the_dag_runs_in_airflow_and_leaves_the_records_of_lakestack_run(
    tmp_path: Path, child_bytecode_cache: None
) -> None:
    project = write_project(tmp_path / "airflow", {"mixed": JOB})
    dags, home = tmp_path / "dags", tmp_path / "airflow-home"
    home.mkdir()
    export = subprocess.run(
        [str(BIN / "lakestack"), "export", "airflow", "--project", str(project.root), "--env", "dev",
         "--out", str(dags), "--lakestack", str(BIN / "lakestack"), "--json"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    assert [Path(f).name for f in json.loads(export.stdout)["files"]] == [
        "lakestack_pipes__mixed.py"
    ]

    script = (
        "set -e; airflow db migrate > migrate.log 2>&1; "
        f"python {CHECK} {dags} pipes__mixed; airflow dags test pipes__mixed > dags-test.log 2>&1"
    )
    done = in_airflow(home, dags, script)
    logs = "".join(p.read_text()[-4000:] for p in home.glob("*.log"))
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}\n{logs}"
    line = next(x for x in done.stdout.splitlines() if x.startswith("AIRFLOW-CHECK "))
    seen = json.loads(line.removeprefix("AIRFLOW-CHECK "))
    assert seen["import_errors"] == {} and seen["dags"] == ["pipes__mixed"]
    assert seen["max_active_runs"] == 1 and "0 3 * * *" in str(seen["schedule"])
    tasks = seen["tasks"]
    assert sorted(tasks) == ["copy", "flaky", "lakestack_finish_run", "load"]
    assert tasks["copy"]["upstream"] == ["load"]
    assert (
        tasks["flaky"]["retries"],
        tasks["flaky"]["retry_delay"],
        tasks["flaky"]["timeout"],
    ) == (1, 0.5, 600.0)
    assert tasks["lakestack_finish_run"]["upstream"] == ["copy", "flaky", "load"]
    assert tasks["lakestack_finish_run"]["trigger_rule"] == "all_done"

    records = Records.for_environment(project, "dev")
    (run,) = records.runs()
    assert run.run_id.startswith("airflow-manual__") and run.status == "succeeded"
    assert run.trigger == "airflow" and run.job == "mixed"

    local = write_project(tmp_path / "local", {"mixed": JOB})
    by_lakestack = run_job(local, "mixed", env="dev")
    local_records = Records.for_environment(local, "dev")
    assert by_lakestack.status == run.status
    on_airflow = records.final_task_runs(run.run_id)
    assert [outcome(on_airflow[t.task]) for t in by_lakestack.tasks] == [
        outcome(t) for t in by_lakestack.tasks
    ]
    assert attempts(records, run.run_id) == attempts(local_records, by_lakestack.run_id) == [
        ("copy", 1, "succeeded"), ("flaky", 1, "failed"), ("flaky", 2, "succeeded"), ("load", 1, "succeeded"),
    ]  # fmt: skip
    lineage = table_lineage(project, "silver.dst", env="dev")
    assert [(e.run_id, e.version) for e in lineage.writes] == [(run.run_id, 0), (run.run_id, 1)]
    assert lineage.upstream_tables == ["bronze.src"]
