"""The runner: runs a job's tasks in dependency order on an engine, and records the run.

Independent tasks run at the same time (up to the engine's capacity). A failed attempt is
retried after `retry_delay` seconds, doubling each time; a task whose upstream failed is
`skipped`, while independent branches run on. Ctrl-C (or a `cancel` event) stops every running
attempt and records the run as `cancelled`.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakestack.errors import PipelineError
from lakestack.pipelines._engines import Engine, create_engine
from lakestack.pipelines._locks import JobLock
from lakestack.pipelines._plan import JobPlan
from lakestack.pipelines._run_records import Records, RecordWriter, RunRecord, TaskRun
from lakestack.pipelines._run_result import RunResult, RunUpdate, new_run_id
from lakestack.pipelines._run_state import DONE, RunState

if TYPE_CHECKING:
    from lakestack.config import Project

__all__ = ["RunResult", "RunUpdate", "new_run_id", "run_job"]


def _reuse_plan(
    plan: JobPlan, records: Records, from_task: str, resume: str | None
) -> tuple[RunRecord, dict[str, TaskRun]]:
    if from_task not in plan.tasks:
        raise PipelineError(
            f"job {plan.job!r} has no task {from_task!r} to resume from; "
            f"its tasks: {', '.join(plan.tasks)}"
        )
    if resume:
        previous = records.run(resume)
        if previous.job != plan.job:
            raise PipelineError(f"run {previous.run_id} is a run of job {previous.job!r}")
    else:
        earlier = [r for r in records.runs(job=plan.job) if r.status != "running"]
        if not earlier:
            raise PipelineError(
                f"no earlier run of job {plan.job!r} in {plan.environment!r} to resume from; "
                "run it without --from first"
            )
        previous = earlier[0]
    final = records.final_task_runs(previous.run_id)
    rerun = {from_task} | plan.descendants(from_task)
    for name in plan.tasks:
        if name not in rerun and (name not in final or final[name].status not in DONE):
            rerun |= {name} | plan.descendants(name)
    return previous, {name: final[name] for name in plan.tasks if name not in rerun}


def run_job(
    project: Project,
    job: str,
    *,
    env: str | None = None,
    params: Mapping[str, Any] | None = None,
    from_task: str | None = None,
    resume: str | None = None,
    engine: str | None = None,
    max_workers: int | None = None,
    trigger: str = "manual",
    run_id: str | None = None,
    sys_path: Sequence[str | Path] = (),
    on_update: Callable[[RunUpdate], None] | None = None,
    cancel: threading.Event | None = None,
    lock: JobLock | None = None,
) -> RunResult:
    """Run a job of the project and record it in `system.runs` and `system.task_runs`.

    Args:
        project: the project.
        job: the job's name.
        env: the environment (default: `LAKESTACK_ENV`, then the file's default).
        params: parameters applied to every task, over the file's (recorded with the run).
        from_task: resume: rerun this task, the tasks after it and those that did not
            succeed, reusing the recorded outputs of the others from an earlier run.
        resume: the run to resume (default: the latest finished run of the job).
        engine: `local`, `ray`, `ray://host:port` (default: the environment's engine).
        max_workers: the most tasks at once (default: the engine's capacity).
        trigger: why the job runs, recorded with the run.
        run_id: the run's id (default: a new one).
        sys_path: folders added to the workers' `sys.path` after the project folder.
        on_update: called with each step of the run, in this thread.
        cancel: set it (from another thread) to cancel the run.
        lock: the job's lock, already acquired by the caller (the scheduler); released here.

    Returns:
        The run and its tasks. A failed run is a result with status `failed`, not an exception.

    Raises:
        PipelineError: an unknown job or task, nothing to resume, or the job is already running
            and does not allow overlap.
        KeyboardInterrupt: after the run was recorded as cancelled.

    Example:
        >>> result = run_job(load_project("."), "ingest", env="dev")  # doctest: +SKIP
        >>> result.status, [t.status for t in result.tasks]  # doctest: +SKIP
        ('succeeded', ['succeeded', 'succeeded'])
    """
    from lakestack.access import authorize
    from lakestack.lake import code_version

    environment = project.environment(env)
    base = JobPlan.build(project, job, environment.name)
    authorize(project, "job.run", environment.name, obj=f"{job} ({trigger})")
    engine_spec = engine or environment.engine
    # Created first: a local engine starts its worker processes while the run is prepared.
    runner = create_engine(engine_spec, max_workers)
    try:
        records = Records.for_environment(project, environment.name)
        reused: dict[str, TaskRun] = {}
        previous: RunRecord | None = None
        run_params = dict(params or {})
        if from_task is not None:
            previous, reused = _reuse_plan(base, records, from_task, resume)
            run_params = {**previous.params, **run_params}
        plan = JobPlan.build(project, job, environment.name, run_params)
        if lock is None and not plan.allow_overlap:
            lock = JobLock.of(project, environment.name, job)
            if not lock.acquire(f"run of {job}"):
                lock = None
                raise PipelineError(
                    f"job {job!r} is already running in {environment.name!r} "
                    f"({JobLock.of(project, environment.name, job).owner()}); wait for it, or "
                    f"set jobs.{job}.allow_overlap: true in lakestack.yaml"
                )
        code = code_version(project.root)
        record = RunRecord(
            run_id=run_id or new_run_id(),
            job=job,
            environment=environment.name,
            status="running",
            trigger=trigger,
            params=run_params,
            engine=engine_spec,
            code_commit=code.commit,
            code_dirty=code.dirty,
            started_at=datetime.now(UTC),
            resumed_from=previous.run_id if previous else None,
            host=socket.gethostname(),
            pid=os.getpid(),
        )
        return _execute(project, plan, record, runner, records, reused, sys_path, on_update, cancel)
    finally:
        runner.close()
        if lock is not None:
            lock.release()


def _execute(
    project: Project,
    plan: JobPlan,
    record: RunRecord,
    engine: Engine,
    records: Records,
    reused: dict[str, TaskRun],
    sys_path: Sequence[str | Path],
    on_update: Callable[[RunUpdate], None] | None,
    cancel: threading.Event | None,
) -> RunResult:
    writer = RecordWriter(records)
    log_dir = project.state_dir / record.environment / "runs" / record.run_id
    log_dir.mkdir(parents=True, exist_ok=True)
    paths = tuple(dict.fromkeys([str(project.root), *(str(p) for p in sys_path)]))
    run = RunState(plan, record, engine, writer, log_dir, paths, str(project.root), on_update)
    interrupted = False
    status = "succeeded"
    crash: BaseException | None = None
    try:
        run.pending = [name for name in plan.order() if name not in reused]
        writer.put(record)
        engine.start(len(run.pending))
        run.notify("run_started")
        for name, earlier in reused.items():
            run.settle(
                run.task_run(
                    name,
                    attempt=0,
                    status="reused",
                    output=earlier.output,
                    reused_from=earlier.reused_from or earlier.run_id,
                )
            )
        while run.pending or run.running:
            if cancel is not None and cancel.is_set():
                status = "cancelled"
                run.cancel()
                break
            run.step()
    except KeyboardInterrupt:
        interrupted, status = True, "cancelled"
        run.cancel()
    except Exception as exc:  # the runner itself failed: record it, then raise
        crash, status = exc, "failed"
        run.cancel()
    finally:
        engine.close()
    if status == "succeeded":
        status = "succeeded" if all(t.status in DONE for t in run.final.values()) else "failed"
    order = plan.order()
    failed = [run.final[n] for n in order if n in run.final and run.final[n].status == "failed"]
    error = f"task {failed[0].task!r} failed: {failed[0].error}" if failed else None
    if crash is not None:
        error = f"the runner failed: {type(crash).__name__}: {crash}"
    final = replace(record, status=status, ended_at=datetime.now(UTC), error=error)
    writer.put(final)
    writer.close()
    run.notify("run_finished", status=status, error=error, duration=final.duration)
    if interrupted:
        raise KeyboardInterrupt
    if crash is not None:
        raise crash
    return RunResult(final, [run.final[n] for n in plan.order() if n in run.final])
