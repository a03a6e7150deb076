"""Run inside Airflow's environment: `python _airflow_check.py DAGS_FOLDER DAG_ID` prints, as
JSON, the import errors of the folder and the DAG's tasks as Airflow sees them."""

from __future__ import annotations

import json
import sys

try:  # Airflow 3
    from airflow.dag_processing.dagbag import DagBag
except ImportError:  # Airflow 2
    from airflow.models.dagbag import DagBag


def main() -> None:
    folder, dag_id = sys.argv[1], sys.argv[2]
    bag = DagBag(dag_folder=folder)
    dag = bag.dags.get(dag_id)
    tasks = {
        task.task_id: {
            "upstream": sorted(task.upstream_task_ids),
            "retries": task.retries,
            "retry_delay": task.retry_delay.total_seconds(),
            "timeout": task.execution_timeout.total_seconds() if task.execution_timeout else None,
            "trigger_rule": str(getattr(task.trigger_rule, "value", task.trigger_rule)),
        }
        for task in (dag.tasks if dag else [])
    }
    schedule = getattr(dag, "schedule", None) if dag else None
    report = {
        "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
        "dags": sorted(bag.dags),
        "schedule": str(schedule) if schedule is not None else None,
        "max_active_runs": dag.max_active_runs if dag else None,
        "tasks": tasks,
    }
    print("AIRFLOW-CHECK " + json.dumps(report))


if __name__ == "__main__":
    main()
