"""Airflow DAGs from `lakestack.yaml`: one DAG per job, one Airflow task per lakestack task.

Each Airflow task runs `lakestack run JOB --task T --run-id R --attempt N` (a `BashOperator`),
and a last task, `lakestack_finish_run`, runs `lakestack run JOB --finish --run-id R` whatever
happened upstream, so the run records and lineage are those `lakestack run` writes. R is
derived from Airflow's run id, so every task of a DAG run belongs to one lakestack run.

From `lakestack.yaml`: `depends_on` becomes the DAG's edges, `schedule` (cron, UTC) its
schedule, `catchup` its catchup, `allow_overlap: false` one active run at a time, `retries`
and `retry_delay` Airflow's retries with exponential backoff (lakestack's own), `timeout`
the task's execution timeout. Triggers (table updates, events) are not Airflow's: a job with
triggers and no schedule gets `schedule=None` (run it from Airflow or an external trigger).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from lakestack.config import Project
from lakestack.config._model import JobConfig
from lakestack.errors import PipelineError

__all__ = ["AirflowExport", "airflow_dags"]

_DAG_ID = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class AirflowExport:
    """Where the DAGs run their commands.

    Attributes:
        environment: the lakestack environment the DAGs run in.
        project_dir: the project folder as the Airflow workers see it.
        lakestack: the `lakestack` command on the workers.
    """

    environment: str
    project_dir: str
    lakestack: str = "lakestack"


def dag_id(project: Project, job: str) -> str:
    """The DAG id of a job: `<project>__<job>`."""
    return _DAG_ID.sub("_", f"{project.name}__{job}")


def airflow_dags(
    project: Project, export: AirflowExport, jobs: list[str] | None = None
) -> dict[str, str]:
    """The DAG files of the project's jobs (or of `jobs`), by file name.

    Raises:
        PipelineError: a job that is not in `lakestack.yaml`.
    """
    project.environment(export.environment)  # an unknown environment is an error
    declared = project.config.jobs
    names = jobs or sorted(declared)
    unknown = [name for name in names if name not in declared]
    if unknown:
        raise PipelineError(
            f"no job {unknown[0]!r} in {project.file}; jobs: {', '.join(sorted(declared)) or 'none'}"
        )
    return {
        f"lakestack_{dag_id(project, job)}.py": _dag(project, export, job, declared[job])
        for job in names
    }


def _command(export: AirflowExport, job: str, *args: str) -> str:
    base = [
        export.lakestack,
        "run",
        job,
        "--env",
        export.environment,
        "--project",
        export.project_dir,
    ]
    quoted = " ".join(shlex.quote(part) for part in [*base, *args])
    # Airflow's run id (e.g. manual__2026-01-01T00:00:00+00:00) becomes the lakestack run id.
    return f"{quoted} --run-id 'airflow-{{{{ run_id }}}}'"


def _dag(project: Project, export: AirflowExport, job: str, config: JobConfig) -> str:
    lines = [
        f'"""Airflow DAG of job {job!r} of the lakestack project {project.name!r} '
        f"(environment {export.environment!r}).",
        "",
        "Written by `lakestack export airflow`: regenerate it instead of editing it. Each task runs",
        "one lakestack task through the `lakestack` command, so that run records, lineage and logs",
        "are those of `lakestack run`.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from datetime import datetime, timedelta, timezone",
        "",
        "try:  # Airflow 3",
        "    from airflow.providers.standard.operators.bash import BashOperator",
        "    from airflow.sdk import DAG",
        "except ImportError:  # Airflow 2",
        "    from airflow import DAG",
        "    from airflow.operators.bash import BashOperator",
        "",
        "with DAG(",
        f"    dag_id={dag_id(project, job)!r},",
        f"    description={(config.description or f'lakestack job {job}')!r},",
        f"    schedule={config.schedule!r},",
        "    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),",
        f"    catchup={config.catchup!r},",
        f"    max_active_runs={16 if config.allow_overlap else 1},",
        f"    tags=['lakestack', {project.name!r}, {export.environment!r}],",
        ") as dag:",
        "    tasks = {}",
    ]
    for task in config.tasks:
        timeout = f"timedelta(seconds={task.timeout!r})" if task.timeout else "None"
        command = _command(export, job, "--task", task.name) + " --attempt {{ ti.try_number }}"
        lines += [
            f"    tasks[{task.name!r}] = BashOperator(",
            f"        task_id={task.name!r},",
            f"        bash_command={command!r},",
            f"        retries={task.retries},",
            f"        retry_delay=timedelta(seconds={task.retry_delay!r}),",
            "        retry_exponential_backoff=True,",
            f"        execution_timeout={timeout},",
            "    )",
        ]
    finish = _command(export, job, "--finish")
    lines += [
        "    finish = BashOperator(",
        "        task_id='lakestack_finish_run',",
        f"        bash_command={finish!r},",
        "        trigger_rule='all_done',",
        "    )",
    ]
    for task in config.tasks:
        for dep in task.depends_on:
            lines.append(f"    tasks[{dep!r}] >> tasks[{task.name!r}]")
    lines.append("    list(tasks.values()) >> finish")
    return "\n".join(lines) + "\n"
