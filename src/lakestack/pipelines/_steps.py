"""One task of a run at a time: how an outside orchestrator (Airflow) runs a job.

An orchestrator that owns the DAG runs each task as a command of its own,
`lakestack run JOB --task T --run-id R --attempt N`, and after the last one
`lakestack run JOB --finish --run-id R`. The records are those `lakestack run` writes: a run
row when the run starts and one when it ends, a row per task attempt with its reads, writes,
output and metrics, and a `skipped` row for each task whose upstream did not succeed. The
orchestrator owns retries (one attempt per command; `--attempt` numbers it), dependencies and
schedules; the task itself runs on the environment's engine as it would in `lakestack run`.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from lakestack.config import Project
from lakestack.errors import PipelineError
from lakestack.pipelines._engines import create_engine
from lakestack.pipelines._plan import JobPlan
from lakestack.pipelines._run_records import Records, RecordWriter, RunRecord, TaskRun
from lakestack.pipelines._run_result import RunResult
from lakestack.pipelines._run_state import DONE, RunState

__all__ = ["external_run_id", "finish_run", "run_task"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def external_run_id(run: str) -> str:
    """A run id given by an orchestrator (`airflow-manual__2026-01-01T00:00:00+00:00`), made
    safe in file paths: other characters than letters, digits, `_`, `.` and `-` become `_`."""
    return _UNSAFE.sub("_", run).strip("_")


def _plan(project: Project, job: str, env: str | None) -> tuple[JobPlan, Records]:
    environment = project.environment(env)
    plan = JobPlan.build(project, job, environment.name)
    return plan, Records.for_environment(project, environment.name)


def _existing(records: Records, run_id: str) -> RunRecord | None:
    found = [r for r in records.runs() if r.run_id == run_id]
    return found[0] if found else None


def _run_record(
    project: Project, plan: JobPlan, records: Records, run_id: str, engine: str, trigger: str
) -> tuple[RunRecord, bool]:
    """The run's record, and whether it is new (so the caller writes it)."""
    found = _existing(records, run_id)
    if found is not None:
        if found.job != plan.job:
            raise PipelineError(
                f"run {run_id} is a run of job {found.job!r}, not {plan.job!r}; give the run id "
                "of this job's run"
            )
        return found, False
    from lakestack.lake import code_version

    code = code_version(project.root)
    record = RunRecord(
        run_id=run_id,
        job=plan.job,
        environment=plan.environment,
        status="running",
        trigger=trigger,
        params={},
        engine=engine,
        code_commit=code.commit,
        code_dirty=code.dirty,
        started_at=datetime.now(UTC),
        host=socket.gethostname(),
        pid=os.getpid(),
    )
    return record, True


def run_task(
    project: Project,
    job: str,
    task: str,
    *,
    run_id: str,
    env: str | None = None,
    attempt: int = 1,
    engine: str | None = None,
    trigger: str = "airflow",
    sys_path: Sequence[str | Path] = (),
) -> TaskRun:
    """Run one attempt of one task of a run, with its upstream tasks' recorded outputs.

    Args:
        project: the project.
        job: the job's name.
        task: the task's name.
        run_id: the run this attempt belongs to (created on its first task).
        env: the environment.
        attempt: the attempt's number (the orchestrator's try number).
        engine: where the attempt runs (default: the environment's engine).
        trigger: why the run started, recorded with a new run.
        sys_path: folders added to the worker's `sys.path` after the project folder.

    Returns:
        The attempt's record (status `succeeded` or `failed`), also written to the run records.

    Raises:
        PipelineError: an unknown job or task, or an upstream task that has not succeeded in
            this run.
    """
    from lakestack.access import authorize

    plan, records = _plan(project, job, env)
    if task not in plan.tasks:
        raise PipelineError(
            f"job {job!r} has no task {task!r}; its tasks: {', '.join(plan.order())}"
        )
    authorize(project, "job.run", plan.environment, obj=f"{job}/{task} of {run_id} ({trigger})")
    spec = engine or project.environment(env).engine
    record, new = _run_record(project, plan, records, run_id, spec, trigger)
    final = records.final_task_runs(run_id)
    deps = plan.tasks[task].depends_on
    for dep in deps:
        if dep not in final or final[dep].status not in DONE:
            status = final[dep].status if dep in final else "not run"
            raise PipelineError(
                f"task {task!r} of run {run_id} needs upstream task {dep!r} to succeed first "
                f"(it is {status}); run `lakestack run {job} --task {dep} --run-id {run_id}`"
            )
    runner = create_engine(spec, 1)
    writer = RecordWriter(records)
    try:
        if new:
            writer.put(record)
        log_dir = project.state_dir / plan.environment / "runs" / run_id
        log_dir.mkdir(parents=True, exist_ok=True)
        paths = tuple(dict.fromkeys([str(project.root), *(str(p) for p in sys_path)]))
        state = RunState(plan, record, runner, writer, log_dir, paths, str(project.root), None)
        state.final.update({dep: final[dep] for dep in deps})
        state.attempts[task] = max(0, attempt - 1)
        runner.start(1)
        state.submit(task)
        outcomes = runner.poll(0.25)
        while not outcomes:
            outcomes = runner.poll(0.25)
        row = state.outcome_row(outcomes[0])
        writer.put(row)
    finally:
        writer.close()
        runner.close()
    return row


def finish_run(project: Project, job: str, *, run_id: str, env: str | None = None) -> RunResult:
    """Close a run whose tasks an orchestrator ran: `skipped` rows, then the final status.

    Returns:
        The run with the last attempt of each task, as `lakestack run` returns it.

    Raises:
        PipelineError: no task of this run was recorded.
    """
    plan, records = _plan(project, job, env)
    record = _existing(records, run_id)
    if record is None:
        raise PipelineError(
            f"no run {run_id} of job {job!r} in the {plan.environment!r} environment: no task of "
            "it was run (run its tasks with `lakestack run JOB --task T --run-id RUN_ID` first)"
        )
    final = records.final_task_runs(run_id)
    writer = RecordWriter(records)
    try:
        for name in plan.order():
            if name in final:
                continue
            blocked = [d for d in plan.tasks[name].depends_on if final[d].status not in DONE]
            error = f"upstream task {blocked[0]!r} did not succeed" if blocked else "it did not run"
            final[name] = TaskRun(
                run_id=run_id,
                job=job,
                environment=plan.environment,
                task=name,
                params=plan.tasks[name].params,
                attempt=0,
                status="skipped",
                error=error,
            )
            writer.put(final[name])
        failed = [final[n] for n in plan.order() if final[n].status == "failed"]
        ok = all(final[n].status in DONE for n in plan.order())
        reason: str | None = None
        if failed:
            reason = f"task {failed[0].task!r} failed: {failed[0].error}"
        elif not ok:
            reason = "a task did not run"
        closed = replace(
            record,
            status="succeeded" if ok else "failed",
            ended_at=datetime.now(UTC),
            error=reason,
        )
        writer.put(closed)
    finally:
        writer.close()
    return RunResult(closed, [final[n] for n in plan.order()])
