"""The pipeline commands through `main`, as a user types them: output, JSON and exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from _pipelines_kit import MakeProject, task

from _kit import run_cli
from lakestack.config import Project
from lakestack.pipelines import Records


@pytest.fixture
def project(make_project: MakeProject) -> Project:
    return make_project(
        {
            "good": {
                "tasks": [
                    task("load", "write_rows", params={"table": "bronze.x"}),
                    task(
                        "copy",
                        "copy_table",
                        "load",
                        params={"source": "bronze.x", "target": "silver.x"},
                    ),
                    task("chat", "chatty"),
                ]
            },
            "bad": {
                "triggers": [{"on_event": "oops"}],
                "tasks": [task("first", "noop"), task("boom", "fail", "first")],
            },
        }
    )


def test_run_then_inspect_runs_logs_and_lineage(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    p = ("-p", str(project.root))
    code, out, _ = run_cli(capsys, "run", "good", "--env", "dev", "--param", "who=cli", *p)
    assert code == 0 and "succeeded" in out

    code, out, _ = run_cli(capsys, "runs", "list", "--json", *p)
    runs = json.loads(out)
    assert code == 0 and [(r["job"], r["status"]) for r in runs] == [("good", "succeeded")]
    run_id = runs[0]["run_id"]
    assert runs[0]["params"] == {"who": "cli"}

    code, out, _ = run_cli(capsys, "runs", "show", run_id, "--json", *p)
    shown = json.loads(out)
    assert code == 0 and {t["task"]: t["output"] for t in shown["task_runs"]}["chat"] == "dev:cli"

    code, out, _ = run_cli(capsys, "runs", "show", run_id, *p)
    assert code == 0 and "copy" in out and "silver.x@" in out

    code, out, _ = run_cli(capsys, "runs", "logs", run_id, "--task", "chat", *p)
    assert code == 0 and "hello from print" in out and "hello from the logger" in out

    code, out, _ = run_cli(capsys, "lineage", "table", "silver.x", "--json", *p)
    lineage = json.loads(out)
    assert code == 0 and lineage["upstream_tables"] == ["bronze.x"]
    assert [w["version"] for w in lineage["writes"]] == [0, 1]

    code, out, _ = run_cli(capsys, "lineage", "table", "bronze.x", *p)
    assert code == 0 and "silver.x" in out

    code, out, _ = run_cli(capsys, "lineage", "run", run_id, "--json", *p)
    assert code == 0 and {e["table"] for e in json.loads(out)["writes"]} == {"bronze.x", "silver.x"}

    code, _, err = run_cli(capsys, "runs", "show", "19990101", *p)
    assert code == 1 and "no run '19990101'" in err


def test_a_failed_run_shows_the_task_its_traceback_and_log(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "run", "bad", "-p", str(project.root))
    assert code == 1
    assert "task boom failed" in err
    assert "ValueError: boom: bad input" in err and "Traceback" in err
    assert "something printed before the failure" in err  # the tail of its log
    assert "--from boom" in out

    code, _, err = run_cli(capsys, "run", "nothing", "-p", str(project.root))
    assert code == 1 and "no job 'nothing'" in err


def test_trigger_then_scheduler_once(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    p = ("-p", str(project.root), "--env", "dev")
    code, out, _ = run_cli(capsys, "scheduler", "--once", *p)
    assert code == 0 and "nothing is due" in out
    code, out, _ = run_cli(capsys, "trigger", "good", "--reason", "by hand", *p)
    assert code == 0 and "queued 'good' for good" in out
    code, out, _ = run_cli(capsys, "scheduler", "--once", *p)
    assert code == 0 and "triggered: by hand" in out and "succeeded" in out
    code, out, err = run_cli(capsys, "trigger", "oops", *p)
    assert code == 0 and "for bad" in out
    code, out, err = run_cli(capsys, "scheduler", "--once", *p)
    assert code == 1 and "event oops" in out and "task boom failed" in err
    code, _, err = run_cli(capsys, "trigger", "nope", *p)
    assert code == 1 and "neither a job nor an event" in err


def test_validate_reports_task_functions_that_do_not_import(
    make_project: MakeProject, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project({"j": {"tasks": [task("a", "noop"), task("b", "missing")]}})
    code, _, err = run_cli(capsys, "validate", "-p", str(project.root))
    assert code == 1
    assert "jobs.j.tasks[1].run" in err and "task 'b'" in err and "no function 'missing'" in err
    code, out, _ = run_cli(capsys, "validate", "--json", "-p", str(project.root))
    assert code == 1 and json.loads(out)["problems"][0]["key"] == "jobs.j.tasks[1].run"


def test_ctrl_c_cancels_the_run_and_stops_its_processes(make_project: MakeProject) -> None:
    project = make_project(
        {
            "long": {
                "tasks": [
                    task("nap", "sleepy", params={"seconds": 120}),
                    task("after", "noop", "nap"),
                ]
            }
        }
    )
    command = [sys.executable, "-c", "from lakestack.cli import main; main()"]
    process = subprocess.Popen(
        [*command, "run", "long", "-p", str(project.root)],
        start_new_session=True,  # its own process group, as a terminal's foreground job
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    logs = project.state_dir / "dev" / "runs"
    header = ""
    for _ in range(1200):  # until the task has started in its worker
        found = list(logs.glob("*/nap.log")) if logs.exists() else []
        if found and (header := found[0].read_text()):
            break
        time.sleep(0.05)
    worker = int(header.split(" on ")[1].split(":")[1].split()[0])
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "cancelled" in err
    for _ in range(100):
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the task's process {worker} is still alive")
    run = Records.for_environment(project, "dev").runs(job="long")[0]
    assert run.status == "cancelled"
    tasks = Records.for_environment(project, "dev").final_task_runs(run.run_id)
    assert {name: t.status for name, t in tasks.items()} == {
        "nap": "cancelled",
        "after": "cancelled",
    }
