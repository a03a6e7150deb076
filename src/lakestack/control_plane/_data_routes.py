"""Routes over data and pipelines: tables, runs, lineage, jobs, triggers, feature publishes."""

from __future__ import annotations

import contextvars
import threading
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from lakestack.control_plane._session import Reader, Writer, not_found

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/envs/{env}")

Limit = Annotated[int, Query(ge=1, le=10_000, description="At most this many.")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunRequest(_Body):
    """Start a run of a job now."""

    params: dict[str, Any] = Field(default_factory=dict, description="Parameters of every task.")


class TriggerRequest(_Body):
    """Queue a trigger for the environment's scheduler."""

    reason: str = Field(default="", max_length=500, description="Why, recorded with the run.")


class PublishRequest(_Body):
    """Publish a feature table's latest rows to the online store."""

    full: bool = Field(default=False, description="Rewrite every key, not only changed ones.")
    as_of: datetime | None = Field(
        default=None, description="Publish each key's latest row at or before this moment."
    )


def _lake(s: Any) -> Any:
    from lakestack.lake import Lake

    return Lake.for_environment(s.project, s.env)


@router.get("/tables", tags=["tables"], summary="The tables of the environment's lake")
def list_tables(s: Reader, schema: str | None = None) -> list[dict[str, Any]]:
    with s.acting():
        return [info.to_dict() for info in _lake(s).catalog(schema)]


@router.get("/tables/{table}", tags=["tables"], summary="A table: schema, rows, last commit")
def show_table(s: Reader, table: str) -> dict[str, Any]:
    with s.acting():
        return dict(_lake(s).info(table).to_dict())


@router.get("/tables/{table}/history", tags=["tables"], summary="A table's commits")
def table_history(s: Reader, table: str, limit: Limit = 100) -> list[dict[str, Any]]:
    with s.acting():
        return [commit.to_dict() for commit in _lake(s).history(table, limit=limit)]


@router.get("/tables/{table}/preview", tags=["tables"], summary="The first rows of a version")
def preview_table(
    s: Reader,
    table: str,
    version: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> dict[str, Any]:
    with s.acting():
        lake = _lake(s)
        data = lake.read(table, version=version, limit=limit)
        pinned = version if version is not None else lake.version(table)
    return {
        "table": table,
        "version": pinned,
        "columns": data.schema.names,
        "rows": data.to_pylist(),
    }


@router.get("/runs", tags=["runs"], summary="Runs, newest first")
def list_runs(
    s: Reader, job: str | None = None, status: str | None = None, limit: Limit = 100
) -> list[dict[str, Any]]:
    from lakestack.pipelines import Records

    with s.acting():
        records = Records.for_environment(s.project, s.env)
        return [run.to_dict() for run in records.runs(job=job, status=status, limit=limit)]


@router.get("/runs/{run_id}", tags=["runs"], summary="A run with its task attempts")
def show_run(s: Reader, run_id: str) -> dict[str, Any]:
    from lakestack.pipelines import Records

    with s.acting():
        records = Records.for_environment(s.project, s.env)
        run = records.run(run_id)
        tasks = [task.to_dict() for task in records.task_runs(run.run_id)]
    return {**run.to_dict(), "tasks": tasks}


@router.get("/runs/{run_id}/tasks/{task}/log", tags=["runs"], summary="The end of a task's log")
def task_log(
    s: Reader, run_id: str, task: str, lines: Annotated[int, Query(ge=1, le=10_000)] = 200
) -> dict[str, Any]:
    from lakestack.pipelines import Records, log_tail

    with s.acting():
        records = Records.for_environment(s.project, s.env)
        final = records.final_task_runs(records.run(run_id).run_id)
    if task not in final:
        raise not_found(f"task {task!r} of run {run_id}", sorted(final))
    path = final[task].log_path
    return {"run_id": run_id, "task": task, "log": log_tail(path, lines) if path else ""}


@router.get("/runs/{run_id}/lineage", tags=["lineage"], summary="Table versions a run read/wrote")
def lineage_of_run(s: Reader, run_id: str) -> dict[str, Any]:
    from lakestack.pipelines import run_lineage

    with s.acting():
        return run_lineage(s.project, run_id, env=s.env).to_dict()


@router.get("/lineage/tables/{table}", tags=["lineage"], summary="Runs around a table")
def lineage_of_table(s: Reader, table: str) -> dict[str, Any]:
    from lakestack.lake import TableName
    from lakestack.pipelines import table_lineage

    with s.acting():
        return table_lineage(s.project, str(TableName.parse(table)), env=s.env).to_dict()


@router.get("/jobs", tags=["jobs"], summary="The jobs of lakestack.yaml")
def list_jobs(s: Reader) -> list[dict[str, Any]]:
    return [
        {"name": name, **job.model_dump(mode="json")} for name, job in s.project.config.jobs.items()
    ]


@router.post("/jobs/{job}/runs", tags=["jobs"], status_code=202, summary="Start a run now")
def start_run(s: Writer, job: str, body: RunRequest | None = None) -> dict[str, Any]:
    """Start the job in the server (audited as `job.run`); poll `GET /runs/{run_id}`."""
    from lakestack.access import authorize
    from lakestack.pipelines import new_run_id, run_job

    if job not in s.project.config.jobs:
        raise not_found(f"job {job!r}", sorted(s.project.config.jobs))
    with s.acting():  # refuse now (a denial is audited); the run records the allowed one
        authorize(s.project, "job.run", s.env, obj=job, audit=False)
        run_id = new_run_id()
        context = contextvars.copy_context()
    params = (body or RunRequest()).params
    kwargs = {"env": s.env, "params": params, "run_id": run_id, "trigger": "control plane"}
    thread = threading.Thread(
        target=context.run, args=(run_job, s.project, job), kwargs=kwargs, daemon=True
    )
    thread.start()
    return {"run_id": run_id, "job": job, "environment": s.env}


@router.get("/deployments", tags=["jobs"], summary="Code versions deployed here, newest first")
def list_deployments(s: Reader, limit: Limit = 100) -> list[dict[str, Any]]:
    from lakestack.deploy import DeploymentLog

    with s.acting():
        found = DeploymentLog(_lake(s)).all()
    return [d.to_dict() for d in reversed(found[-limit:])]


@router.post("/triggers/{name}", tags=["jobs"], summary="Queue a job or an event")
def queue_trigger(s: Writer, name: str, body: TriggerRequest | None = None) -> dict[str, Any]:
    from lakestack.pipelines import trigger

    with s.acting():
        jobs = trigger(s.project, name, (body or TriggerRequest()).reason, env=s.env)
    return {"trigger": name, "jobs": jobs, "environment": s.env}


@router.post("/features/{table}/publish", tags=["features"], summary="Publish features online")
def publish_features(s: Writer, table: str, body: PublishRequest | None = None) -> dict[str, Any]:
    from lakestack.features import FeatureStore

    request = body or PublishRequest()
    with s.acting():
        result = FeatureStore(s.project, s.env).publish(
            table, full=request.full, as_of=request.as_of
        )
        return dict(result.to_dict())
