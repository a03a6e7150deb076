"""The local runner: order, parallelism, retries, timeouts, crashes, resume, cancel, context."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from _pipelines_kit import MakeProject, task

from lakestack.errors import PipelineError
from lakestack.pipelines import JobLock, Records, RunUpdate, run_job


def test_tasks_run_in_dependency_order_and_independent_ones_overlap(
    make_project: MakeProject,
) -> None:
    project = make_project(
        {
            "fan": {
                "tasks": [
                    task("join", "stamp", "left", "right"),
                    task("left", "stamp", params={"sleep": 1.5}),
                    task("right", "stamp", params={"sleep": 1.5}),
                ]
            }
        }
    )
    result = run_job(project, "fan", env="dev")
    assert result.ok, result.run.error
    assert [t.task for t in result.tasks] == ["left", "right", "join"]
    left, right, join = (result.output(n) for n in ("left", "right", "join"))
    # Independent tasks overlap: each started before the other ended (in separate processes).
    assert max(left["start"], right["start"]) < min(left["end"], right["end"])
    assert left["pid"] != right["pid"]
    # The dependent task started after both of its upstream tasks ended.
    assert join["start"] >= max(left["end"], right["end"])


def test_upstream_outputs_and_params_by_environment(make_project: MakeProject) -> None:
    project = make_project(
        {
            "sum": {
                "tasks": [
                    task("one", "add", params={"n": 1}, params_by_env={"prod": {"n": 100}}),
                    task("two", "add", params={"n": 2}),
                    task("total", "add", "one", "two", params={"n": 10}),
                ]
            }
        }
    )
    assert run_job(project, "sum", env="dev").output("total") == 13
    assert run_job(project, "sum", env="prod").output("total") == 112
    # --param overrides every task's params and is recorded with the run.
    result = run_job(project, "sum", env="dev", params={"n": 5})
    assert result.output("total") == 15 and result.run.params == {"n": 5}


def test_retries_with_backoff_then_success_or_final_failure(make_project: MakeProject) -> None:
    project = make_project(
        {
            "flaky": {
                "tasks": [
                    task("ok", "flaky", params={"succeed_on": 3}, retries=2, retry_delay=0.01),
                    task("ko", "flaky", params={"succeed_on": 9}, retries=1, retry_delay=0.01),
                ]
            }
        }
    )
    updates: list[RunUpdate] = []
    result = run_job(project, "flaky", env="dev", on_update=updates.append)
    assert result.status == "failed"
    assert (result.task("ok").status, result.task("ok").attempt, result.output("ok")) == (
        "succeeded",
        3,
        3,
    )
    assert (result.task("ko").status, result.task("ko").attempt) == ("failed", 2)
    assert "flaky failure on attempt 2" in (result.task("ko").error or "")
    attempts = Records.for_environment(project, "dev").task_runs(result.run_id)
    assert sorted((t.task, t.attempt, t.status) for t in attempts) == [
        ("ko", 1, "failed"),
        ("ko", 2, "failed"),
        ("ok", 1, "failed"),
        ("ok", 2, "failed"),
        ("ok", 3, "succeeded"),
    ]
    retried = [(u.task, u.attempt, u.duration) for u in updates if u.kind == "task_retrying"]
    assert ("ok", 1, 0.01) in retried and ("ok", 2, 0.02) in retried  # the delay doubles


def test_a_timed_out_task_is_killed_and_fails(make_project: MakeProject) -> None:
    project = make_project(
        {"slow": {"tasks": [task("nap", "sleepy", params={"seconds": 120}, timeout=0.5)]}}
    )
    result = run_job(project, "slow", env="dev")
    assert result.status == "failed"
    assert "timed out after 0.5 s" in (result.task("nap").error or "")


def test_a_crashing_task_fails_alone_and_is_reported(make_project: MakeProject) -> None:
    project = make_project(
        {
            "crashy": {
                "tasks": [
                    task("exits", "exit_hard"),
                    task("killed", "kill_self"),
                    task("fine", "add", params={"n": 1}),
                    task("after", "add", "fine", params={"n": 1}),
                    task("blocked", "noop", "exits"),
                ]
            }
        }
    )
    result = run_job(project, "crashy", env="dev")
    assert result.status == "failed"
    statuses = {t.task: t.status for t in result.tasks}
    assert statuses == {
        "exits": "failed",
        "killed": "failed",
        "fine": "succeeded",
        "after": "succeeded",
        "blocked": "skipped",
    }
    assert "exited with code 1" in (result.task("exits").error or "")
    assert "killed by SIGKILL" in (result.task("killed").error or "")
    assert result.output("after") == 2
    log = Path(result.task("exits").log_path or "").read_text()
    assert "about to exit hard" in log
    # The runner is fine: the next run gets fresh workers.
    assert run_job(project, "crashy", env="dev").task("fine").status == "succeeded"


def test_resume_from_a_task_reuses_the_outputs_before_it(
    make_project: MakeProject, tmp_path: Path
) -> None:
    marker = tmp_path / "fail-now"
    marker.touch()
    project = make_project(
        {
            "chain": {
                "tasks": [
                    task("first", "add", params={"n": 1}),
                    task("second", "fail_if_marker", "first", params={"marker": str(marker)}),
                    task("third", "add", "first", params={"n": 1}),
                    task("last", "noop", "second"),
                ]
            }
        }
    )
    failed = run_job(project, "chain", env="dev")
    assert failed.status == "failed"
    assert {t.task: t.status for t in failed.tasks} == {
        "first": "succeeded",
        "second": "failed",
        "third": "succeeded",
        "last": "skipped",
    }
    marker.unlink()
    resumed = run_job(project, "chain", env="dev", from_task="second")
    assert resumed.ok and resumed.run.resumed_from == failed.run_id
    first = resumed.task("first")
    assert (first.status, first.attempt, first.output) == ("reused", 0, 1)
    assert first.reused_from == failed.run_id
    assert resumed.task("third").status == "reused"  # not downstream of `second`
    assert resumed.output("second") == {"upstream": {"first": 1}}
    assert resumed.task("last").status == "succeeded"
    with pytest.raises(PipelineError, match="no task 'nope'"):
        run_job(project, "chain", env="dev", from_task="nope")


def test_the_context_logs_metrics_mlflow_runs_and_rejects_non_json_output(
    make_project: MakeProject,
) -> None:
    project = make_project(
        {
            "ctx": {
                "tasks": [
                    task("chat", "chatty", params={"who": "me"}),
                    task("bad", "not_json"),
                ]
            }
        }
    )
    result = run_job(project, "ctx", env="staging")
    chat = result.task("chat")
    assert chat.output == "staging:me"
    assert chat.metrics == {"rows": 42.0} and chat.mlflow_run_ids == ["abc123"]
    log = Path(chat.log_path or "").read_text()
    assert "hello from the logger" in log and "hello from print" in log
    assert "not JSON" in (result.task("bad").error or "")
    stored = Records.for_environment(project, "staging").final_task_runs(result.run_id)
    assert stored["chat"].metrics == {"rows": 42.0} and stored["chat"].output == "staging:me"


def test_a_job_does_not_overlap_itself_unless_allowed(make_project: MakeProject) -> None:
    project = make_project(
        {
            "solo": {"tasks": [task("a", "noop")]},
            "many": {"tasks": [task("a", "noop")], "allow_overlap": True},
        }
    )
    held = JobLock.of(project, "dev", "solo")
    assert held.acquire("a test")
    try:
        with pytest.raises(PipelineError, match="already running"):
            run_job(project, "solo", env="dev")
        other = JobLock.of(project, "dev", "many")
        assert other.acquire("a test")
        try:
            assert run_job(project, "many", env="dev").ok
        finally:
            other.release()
    finally:
        held.release()
    assert run_job(project, "solo", env="dev").ok


def test_cancel_stops_running_tasks_and_records_the_run_as_cancelled(
    make_project: MakeProject,
) -> None:
    project = make_project(
        {
            "long": {
                "tasks": [
                    task("nap", "sleepy", params={"seconds": 120}),
                    task("next", "noop", "nap"),
                ]
            }
        }
    )
    cancel = threading.Event()

    def on_update(update: RunUpdate) -> None:
        if update.kind == "task_started":
            cancel.set()

    result = run_job(project, "long", env="dev", cancel=cancel, on_update=on_update)
    assert result.status == "cancelled"
    assert {t.task: t.status for t in result.tasks} == {"nap": "cancelled", "next": "cancelled"}
    stored = Records.for_environment(project, "dev").run(result.run_id)
    assert stored.status == "cancelled" and stored.ended_at is not None


def test_unknown_job_names_the_jobs(make_project: MakeProject) -> None:
    project = make_project({"one": {"tasks": [task("a", "noop")]}})
    with pytest.raises(PipelineError, match="no job 'two'.*one"):
        run_job(project, "two", env="dev")
