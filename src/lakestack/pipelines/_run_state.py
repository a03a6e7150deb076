"""The state of one run while it runs: what is pending, running, retrying and done."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakestack.pipelines._engines import Engine
from lakestack.pipelines._plan import JobPlan
from lakestack.pipelines._run_records import RecordWriter, RunRecord, TaskRun
from lakestack.pipelines._run_result import RunUpdate
from lakestack.pipelines._worker import TaskOutcome, TaskRequest

__all__ = ["DONE", "RunState"]

DONE = ("succeeded", "reused")
_POLL = 0.25


class RunState:
    """The state of one run while it runs."""

    def __init__(
        self,
        plan: JobPlan,
        record: RunRecord,
        engine: Engine,
        writer: RecordWriter,
        log_dir: Path,
        sys_path: tuple[str, ...],
        project_root: str,
        on_update: Callable[[RunUpdate], None] | None,
    ) -> None:
        self.plan = plan
        self.record = record
        self.engine = engine
        self.writer = writer
        self.log_dir = log_dir
        self.sys_path = sys_path
        self.project_root = project_root
        self.on_update = on_update
        self.final: dict[str, TaskRun] = {}
        self.pending: list[str] = []
        self.running: set[str] = set()
        self.attempts: dict[str, int] = {}
        self.not_before: dict[str, float] = {}
        self.submitted: dict[str, datetime] = {}
        self.principal = writer.records.lake.context.principal
        # Workers come from a pool started earlier: hand them this process's LAKESTACK_* settings.
        self.environ = {k: v for k, v in os.environ.items() if k.startswith("LAKESTACK_")}

    def notify(self, kind: Any, **fields: Any) -> None:
        if self.on_update is not None:
            self.on_update(
                RunUpdate(
                    kind, self.record.run_id, self.plan.job, total=len(self.plan.tasks), **fields
                )
            )

    def task_run(self, name: str, **fields: Any) -> TaskRun:
        return TaskRun(
            run_id=self.record.run_id,
            job=self.plan.job,
            environment=self.plan.environment,
            task=name,
            params=self.plan.tasks[name].params,
            log_path=str(self.log_dir / f"{name}.log"),
            **fields,
        )

    def settle(self, task: TaskRun) -> None:
        self.final[task.task] = task
        self.writer.put(task)
        self.notify(
            "task_finished",
            task=task.task,
            attempt=task.attempt,
            status=task.status,
            error=task.error,
            duration=task.duration,
        )

    def submit(self, name: str) -> None:
        spec = self.plan.tasks[name]
        self.attempts[name] = self.attempts.get(name, 0) + 1
        upstream = {dep: self.final[dep].output for dep in spec.depends_on}
        self.engine.submit(
            TaskRequest(
                project_root=self.project_root,
                environment=self.plan.environment,
                run_id=self.record.run_id,
                job=self.plan.job,
                task=name,
                run=spec.run,
                attempt=self.attempts[name],
                params=spec.params,
                upstream=upstream,
                log_path=str(self.log_dir / f"{name}.log"),
                sys_path=self.sys_path,
                code_commit=self.record.code_commit,
                code_dirty=self.record.code_dirty,
                timeout=spec.timeout,
                principal=self.principal,
                environ=self.environ,
            )
        )
        self.running.add(name)
        self.submitted[name] = datetime.now(UTC)
        self.notify("task_started", task=name, attempt=self.attempts[name])

    def outcome_row(self, outcome: TaskOutcome) -> TaskRun:
        """The task attempt row of a finished attempt."""
        return self.task_run(
            outcome.task,
            attempt=outcome.attempt,
            status=outcome.status,
            started_at=outcome.started_at,
            ended_at=outcome.ended_at,
            error=outcome.error,
            traceback=outcome.traceback,
            reads=[a for a in outcome.accesses if a.kind == "read"],
            writes=[a for a in outcome.accesses if a.kind == "write"],
            metrics=outcome.metrics,
            mlflow_run_ids=outcome.mlflow_run_ids,
            output=json.loads(outcome.output) if outcome.output is not None else None,
            worker=outcome.worker,
        )

    def handle(self, outcome: TaskOutcome) -> None:
        name = outcome.task
        self.running.discard(name)
        spec = self.plan.tasks[name]
        task = self.outcome_row(outcome)
        if outcome.status == "failed" and outcome.attempt <= spec.retries:
            self.writer.put(task)
            delay = spec.backoff(outcome.attempt)
            self.not_before[name] = time.monotonic() + delay
            self.pending.append(name)
            self.notify(
                "task_retrying",
                task=name,
                attempt=outcome.attempt,
                error=outcome.error,
                duration=delay,
            )
            return
        self.settle(task)

    def step(self) -> None:
        """Start what can start, then wait a little for attempts to finish."""
        blocked = ("failed", "skipped", "cancelled")
        for name in list(self.pending):
            deps = self.plan.tasks[name].depends_on
            failed = [d for d in deps if d in self.final and self.final[d].status in blocked]
            if failed:
                self.pending.remove(name)
                error = f"upstream task {failed[0]!r} did not succeed"
                self.settle(self.task_run(name, attempt=0, status="skipped", error=error))
        now = time.monotonic()
        ready = [
            name
            for name in self.pending
            if self.not_before.get(name, 0.0) <= now
            and all(
                d in self.final and self.final[d].status in DONE
                for d in self.plan.tasks[name].depends_on
            )
        ]
        for name in ready:
            if len(self.running) >= self.engine.capacity:
                break
            self.pending.remove(name)
            self.submit(name)
        timeout = _POLL
        waiting = [self.not_before[n] for n in self.pending if n in self.not_before]
        if waiting:
            timeout = max(0.0, min(timeout, min(waiting) - time.monotonic()))
        for outcome in self.engine.poll(timeout):
            self.handle(outcome)

    def cancel(self) -> None:
        for request in self.engine.cancel_all():
            self.running.discard(request.task)
            self.settle(
                self.task_run(
                    request.task,
                    attempt=request.attempt,
                    status="cancelled",
                    started_at=self.submitted.get(request.task),
                    ended_at=datetime.now(UTC),
                    error="the run was cancelled while this task ran",
                )
            )
        for name in [*self.pending, *sorted(self.running)]:
            error = "the run was cancelled before this task ran"
            self.settle(self.task_run(name, attempt=0, status="cancelled", error=error))
        self.pending.clear()
        self.running.clear()
