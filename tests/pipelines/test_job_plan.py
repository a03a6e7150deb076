"""Jobs in lakestack.yaml: plans, parameters, and the import check of `lakestack validate`."""

from __future__ import annotations

import textwrap

import pytest
from _pipelines_kit import MakeProject, task

from lakestack.config import validate_project_file
from lakestack.errors import PipelineError
from lakestack.pipelines import JobPlan, check_imports


def test_plan_orders_tasks_merges_params_and_finds_descendants(make_project: MakeProject) -> None:
    project = make_project(
        {
            "etl": {
                "tasks": [
                    task("report", "noop", "clean"),
                    task("clean", "noop", "load", params={"a": 1, "b": 1}),
                    task("load", "noop", params={"a": 1}, params_by_env={"prod": {"a": 2}}),
                    task("side", "noop"),
                ]
            }
        }
    )
    plan = JobPlan.build(project, "etl", "prod", {"b": 3})
    assert plan.order() == ["load", "side", "clean", "report"]
    assert plan.tasks["load"].params == {"a": 2, "b": 3}
    assert plan.tasks["clean"].params == {"a": 1, "b": 3}
    assert plan.descendants("load") == {"clean", "report"}
    assert plan.tasks["load"].backoff(3) == 4.0  # retry_delay 1 s, doubling
    with pytest.raises(PipelineError, match="no job 'nope'"):
        JobPlan.build(project, "nope", "dev")


def test_check_imports_names_the_task_and_the_key(make_project: MakeProject) -> None:
    project = make_project(
        {
            "ok": {"tasks": [task("a", "noop")]},
            "broken": {
                "tasks": [
                    task("fine", "noop"),
                    {"name": "missing_module", "run": "no_such_module:run"},
                    task("missing_function", "no_such_function"),
                    {"name": "raises", "run": "broken_module:run"},
                    {"name": "wrong_arity", "run": "arity_module:two_args"},
                ]
            },
        }
    )
    (project.root / "broken_module.py").write_text(
        "raise ImportError(\"cannot import name 'x' from 'somewhere'\")\n"
    )
    (project.root / "arity_module.py").write_text("def two_args(ctx, other):\n    return None\n")
    problems = {p.key: p.message for p in check_imports(project)}
    assert set(problems) == {f"jobs.broken.tasks[{i}].run" for i in (1, 2, 3, 4)}
    assert problems["jobs.broken.tasks[1].run"].startswith("task 'missing_module': module")
    assert "not found" in problems["jobs.broken.tasks[1].run"]
    assert "has no function 'no_such_function'" in problems["jobs.broken.tasks[2].run"]
    assert "noop" in problems["jobs.broken.tasks[2].run"]  # it lists the functions there
    assert "cannot import name 'x'" in problems["jobs.broken.tasks[3].run"]
    assert "exactly one argument" in problems["jobs.broken.tasks[4].run"]


def test_config_rejects_bad_schedules_triggers_and_unknown_keys(make_project: MakeProject) -> None:
    project = make_project({"ok": {"tasks": [task("a", "noop")]}})
    project.file.write_text(
        textwrap.dedent(
            """
            project: {name: x}
            jobs:
              j:
                schedule: "61 * * * *"
                triggers:
                  - {on_table_update: Bronze.Flights}
                  - {on_event: drift, on_table_update: silver.x}
                tasks:
                  - {name: a, run: "m:f", retry: 2}
            """
        )
    )
    _, problems = validate_project_file(project.root)
    keys = {p.key: p.message for p in problems}
    assert "5-field cron" in keys["jobs.j.schedule"]
    assert "not a table name" in keys["jobs.j.triggers[0].on_table_update"]
    assert "exactly one of" in keys["jobs.j.triggers[1]"]
    assert "did you mean 'retries'" in keys["jobs.j.tasks[0].retry"]
