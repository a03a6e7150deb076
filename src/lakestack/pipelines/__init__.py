"""Pipelines: jobs as code, a runner, schedules, triggers, run records, lineage and engines.

A job is a DAG of tasks declared in `lakestack.yaml`; a task is a plain Python function that
takes a `TaskContext`. This package knows nothing about ML.

Example:
    >>> from lakestack.config import load_project
    >>> from lakestack.pipelines import run_job, table_lineage
    >>> project = load_project(".")  # doctest: +SKIP
    >>> result = run_job(project, "ingest", env="dev")  # doctest: +SKIP
    >>> result.status  # doctest: +SKIP
    'succeeded'
    >>> table_lineage(project, "silver.flights", env="dev").upstream_tables  # doctest: +SKIP
    ['bronze.flights']
"""

from __future__ import annotations

from lakestack.pipelines._context import TableAccess, TaskContext
from lakestack.pipelines._engines import ENGINES, Engine, create_engine, register_engine
from lakestack.pipelines._exports import (
    AirflowExport,
    KubernetesExport,
    airflow_dags,
    kubernetes_manifests,
)
from lakestack.pipelines._lineage import (
    LineageEdge,
    RunLineage,
    TableLineage,
    run_lineage,
    table_lineage,
)
from lakestack.pipelines._locks import JobLock
from lakestack.pipelines._plan import JobPlan, TaskSpec, check_imports
from lakestack.pipelines._run_records import (
    RUNS_TABLE,
    TASK_RUNS_TABLE,
    Records,
    RunRecord,
    TaskRun,
)
from lakestack.pipelines._run_result import RunResult, RunUpdate, new_run_id
from lakestack.pipelines._runner import run_job
from lakestack.pipelines._scheduler import Launch, Scheduler, Ticker, tick_forever
from lakestack.pipelines._steps import external_run_id, finish_run, run_task
from lakestack.pipelines._triggers import PendingTrigger, trigger
from lakestack.pipelines._worker import TaskOutcome, TaskRequest, log_tail

__all__ = [
    "ENGINES",
    "RUNS_TABLE",
    "TASK_RUNS_TABLE",
    "AirflowExport",
    "Engine",
    "JobLock",
    "JobPlan",
    "KubernetesExport",
    "Launch",
    "LineageEdge",
    "PendingTrigger",
    "Records",
    "RunLineage",
    "RunRecord",
    "RunResult",
    "RunUpdate",
    "Scheduler",
    "TableAccess",
    "TableLineage",
    "TaskContext",
    "TaskOutcome",
    "TaskRequest",
    "TaskRun",
    "TaskSpec",
    "Ticker",
    "airflow_dags",
    "check_imports",
    "create_engine",
    "external_run_id",
    "finish_run",
    "kubernetes_manifests",
    "log_tail",
    "new_run_id",
    "register_engine",
    "run_job",
    "run_lineage",
    "run_task",
    "table_lineage",
    "tick_forever",
    "trigger",
]
