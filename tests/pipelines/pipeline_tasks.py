"""Task functions the pipeline tests run (copied into each test project's folder)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from lakestack.pipelines import TaskContext


def noop(ctx: TaskContext) -> None:
    return None


def stamp(ctx: TaskContext) -> dict[str, Any]:
    """Record when it ran (so tests compare intervals, not wall-clock durations)."""
    start = time.time()
    time.sleep(float(ctx.params.get("sleep", 0)))
    return {"task": ctx.task, "start": start, "end": time.time(), "pid": os.getpid()}


def add(ctx: TaskContext) -> int:
    return int(ctx.params.get("n", 0)) + sum(int(v) for v in ctx.upstream.values())


def flaky(ctx: TaskContext) -> int:
    if ctx.attempt < int(ctx.params["succeed_on"]):
        raise RuntimeError(f"flaky failure on attempt {ctx.attempt}")
    return ctx.attempt


def sleepy(ctx: TaskContext) -> None:
    time.sleep(float(ctx.params.get("seconds", 60)))


def exit_hard(ctx: TaskContext) -> None:
    print("about to exit hard", flush=True)
    os._exit(1)


def kill_self(ctx: TaskContext) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def fail(ctx: TaskContext) -> None:
    print("something printed before the failure", flush=True)
    raise ValueError("boom: bad input")


def fail_if_marker(ctx: TaskContext) -> dict[str, Any]:
    if Path(ctx.params["marker"]).exists():
        raise RuntimeError("the marker file exists")
    return {"upstream": ctx.upstream}


def write_rows(ctx: TaskContext) -> int:
    rows = int(ctx.params.get("rows", 3))
    return ctx.write_table(ctx.params["table"], {"id": list(range(rows))}, mode="append")


def copy_table(ctx: TaskContext) -> dict[str, int]:
    """Read the source (twice, once pinned to version 0) and overwrite the target twice."""
    data = ctx.read_table(ctx.params["source"])
    ctx.read_table(ctx.params["source"], version=0)
    first = ctx.write_table(ctx.params["target"], data)
    second = ctx.write_table(ctx.params["target"], data, mode="append")
    return {"first": first, "second": second}


def chatty(ctx: TaskContext) -> str:
    ctx.logger.info("hello from the logger")
    print("hello from print")
    ctx.log_metric("rows", 42)
    ctx.record_mlflow_run("abc123")
    return f"{ctx.environment}:{ctx.params.get('who', 'nobody')}"


def not_json(ctx: TaskContext) -> object:
    return object()


def write_then_fail(ctx: TaskContext) -> None:
    ctx.write_table(ctx.params["table"], {"id": [1]}, mode="append")
    raise RuntimeError("failed after writing")


def wait_to_be_killed(ctx: TaskContext) -> dict[str, Any]:
    """First attempt: write this process's pid and wait (for the test to kill it); then succeed."""
    if ctx.attempt == 1:
        Path(ctx.params["pid_file"]).write_text(str(os.getpid()))
        time.sleep(float(ctx.params.get("seconds", 300)))
        raise RuntimeError("the first attempt was meant to be killed, not to finish")
    return {"attempt": ctx.attempt, "pid": os.getpid()}
