"""The scheduler, with a fake clock: cron, restarts, table updates, events, overlap."""

from __future__ import annotations

import socket
import subprocess
import threading
from datetime import UTC, datetime

import pytest
from _pipelines_kit import MakeProject, task

from _kit.loops import looping, wait_until
from lakestack.config import Project
from lakestack.errors import PipelineError
from lakestack.lake import Lake
from lakestack.pipelines import JobLock, Records, RunRecord, Scheduler, trigger


class Clock:
    def __init__(self, hour: int, minute: int) -> None:
        self.now = datetime(2025, 3, 1, hour, minute, tzinfo=UTC)

    def set(self, hour: int, minute: int) -> None:
        self.now = self.now.replace(hour=hour, minute=minute)

    def __call__(self) -> datetime:
        return self.now


def triggers_of(project: Project, job: str) -> list[str]:
    runs = Records.for_environment(project, "dev").runs(job=job)
    return sorted(r.trigger for r in runs)


def test_a_restarted_scheduler_runs_each_due_time_once(make_project: MakeProject) -> None:
    project = make_project(
        {
            "latest": {"schedule": "*/5 * * * *", "tasks": [task("a", "noop")]},
            "each": {"schedule": "*/5 * * * *", "catchup": True, "tasks": [task("a", "noop")]},
        }
    )
    clock = Clock(10, 2)
    first = Scheduler(project, "dev", clock=clock, background=False)
    assert first.tick() == []  # the first tick starts counting from now
    clock.set(10, 4)
    assert first.tick() == []
    clock.set(10, 6)
    assert sorted((x.job, x.fire) for x in first.tick()) == [
        ("each", datetime(2025, 3, 1, 10, 5, tzinfo=UTC)),
        ("latest", datetime(2025, 3, 1, 10, 5, tzinfo=UTC)),
    ]
    assert first.tick() == []
    del first  # the scheduler "crashes"; a new one starts later

    clock.set(10, 17)
    second = Scheduler(project, "dev", clock=clock, background=False)
    launched = [(x.job, f"{x.fire:%H:%M}") for x in second.tick()]
    assert sorted(launched) == [("each", "10:10"), ("each", "10:15"), ("latest", "10:15")]
    assert second.tick() == []
    assert all(r.ok for r in second.results)
    assert Scheduler(project, "dev", clock=clock, background=False).tick() == []

    assert triggers_of(project, "each") == [
        "schedule '*/5 * * * *' at 2025-03-01 10:05 UTC",
        "schedule '*/5 * * * *' at 2025-03-01 10:10 UTC",
        "schedule '*/5 * * * *' at 2025-03-01 10:15 UTC",
    ]
    assert triggers_of(project, "latest") == [
        "schedule '*/5 * * * *' at 2025-03-01 10:05 UTC",
        "schedule '*/5 * * * *' at 2025-03-01 10:15 UTC (1 earlier missed time(s) skipped: "
        "catchup is off)",
    ]


def test_a_table_update_triggers_its_job_and_events_chain(make_project: MakeProject) -> None:
    project = make_project(
        {
            "feed": {
                "triggers": [{"on_event": "new_file"}],
                "tasks": [task("load", "write_rows", params={"table": "bronze.src"})],
            },
            "refresh": {
                "triggers": [{"on_table_update": "bronze.src"}],
                "tasks": [
                    task(
                        "copy", "copy_table", params={"source": "bronze.src", "target": "silver.x"}
                    )
                ],
            },
            "compact": {
                # It watches the table it writes: its own writes must not trigger it again.
                "triggers": [{"on_table_update": "silver.x"}],
                "tasks": [task("rewrite", "write_rows", params={"table": "silver.x"})],
            },
        }
    )
    scheduler = Scheduler(project, "dev", background=False)
    assert scheduler.tick() == []  # notes that the tables do not exist yet
    assert trigger(project, "new_file", "a file landed", env="dev") == ["feed"]
    # Jobs tick in file order and run to the end (background=False): one tick runs the chain.
    assert [(x.job, x.reason) for x in scheduler.tick()] == [
        ("feed", "event new_file: a file landed"),
        ("refresh", "table bronze.src updated to version 0"),
        ("compact", "table silver.x updated to version 1"),
    ]
    assert scheduler.tick() == []  # compact wrote silver.x itself: that does not trigger it
    Lake.for_environment(project, "dev").append("bronze.src", {"id": [7]})
    assert [(x.job, x.reason) for x in scheduler.tick()] == [
        ("refresh", "table bronze.src updated to version 1"),
        ("compact", "table silver.x updated to version 4"),
    ]
    assert all(r.ok for r in scheduler.results), [r.run.error for r in scheduler.results]
    with pytest.raises(PipelineError, match="neither a job nor an event"):
        trigger(project, "nothing", env="dev")


def test_due_work_waits_while_the_job_runs(make_project: MakeProject) -> None:
    project = make_project({"solo": {"tasks": [task("a", "noop")]}})
    trigger(project, "solo", "first", env="dev")
    trigger(project, "solo", "second", env="dev")
    lock = JobLock.of(project, "dev", "solo")
    assert lock.acquire("another run")
    scheduler = Scheduler(project, "dev", background=False)
    try:
        assert scheduler.tick() == []
    finally:
        lock.release()
    launches = scheduler.tick()  # the triggers waited, and run once, merged
    assert [x.reason for x in launches] == ["triggered: first; triggered: second"]
    assert scheduler.tick() == []


def test_run_forever_runs_triggers_in_the_background(make_project: MakeProject) -> None:
    project = make_project({"bg": {"tasks": [task("a", "add", params={"n": 3})]}})
    scheduler = Scheduler(project, "dev")
    with looping(scheduler.run_forever):
        trigger(project, "bg", "from a test", env="dev")
        wait_until(lambda: scheduler.results)
    assert [r.output("a") for r in scheduler.results] == [3]
    with pytest.raises(PipelineError, match="already running"):
        lock = JobLock(project.state_dir / "dev" / "locks" / "_scheduler.lock")
        assert lock.acquire("a test")
        try:
            Scheduler(project, "dev").run_forever(0.05, threading.Event())
        finally:
            lock.release()


def test_recover_marks_runs_of_dead_runners_failed(make_project: MakeProject) -> None:
    project = make_project({"j": {"tasks": [task("a", "noop")]}})
    dead = subprocess.Popen(["true"])
    dead.wait()
    records = Records.for_environment(project, "dev")
    records.add_runs(
        [
            RunRecord(
                run_id="20250101-000000-dead00",
                job="j",
                environment="dev",
                status="running",
                trigger="manual",
                params={},
                engine="local",
                code_commit=None,
                code_dirty=False,
                started_at=datetime(2025, 1, 1, tzinfo=UTC),
                host=socket.gethostname(),
                pid=dead.pid,
            )
        ]
    )
    assert Scheduler(project, "dev").recover() == ["20250101-000000-dead00"]
    run = records.run("20250101-000000-dead00")
    assert run.status == "failed" and "exited before the run finished" in (run.error or "")
