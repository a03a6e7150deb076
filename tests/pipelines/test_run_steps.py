"""One task of a run at a time (what an orchestrator runs): the records of a failed run are
those `lakestack run` writes, and a step whose upstream did not succeed is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from _pipelines_kit import task, write_project

from lakestack.errors import PipelineError
from lakestack.pipelines import Records, external_run_id, finish_run, run_job, run_task

JOB = {"tasks": [task("boom", "fail"), task("after", "noop", "boom"), task("alone", "noop")]}


def test_a_failed_step_fails_the_run_and_skips_its_downstream_as_lakestack_run_does(
    tmp_path: Path,
) -> None:
    project = write_project(tmp_path / "steps", {"job": JOB})
    run_id = external_run_id("airflow-manual__2026-01-01T00:00:00+00:00")
    assert run_id == "airflow-manual__2026-01-01T00_00_00_00_00"
    assert run_task(project, "job", "boom", run_id=run_id, env="dev").status == "failed"
    with pytest.raises(PipelineError, match="needs upstream task 'boom' to succeed first"):
        run_task(project, "job", "after", run_id=run_id, env="dev")
    assert run_task(project, "job", "alone", run_id=run_id, env="dev").status == "succeeded"
    stepped = finish_run(project, "job", run_id=run_id, env="dev")

    reference = run_job(write_project(tmp_path / "whole", {"job": JOB}), "job", env="dev")
    assert stepped.status == reference.status == "failed"
    assert stepped.run.error == reference.run.error
    assert [(t.task, t.status, t.attempt, t.error) for t in stepped.tasks] == [
        (t.task, t.status, t.attempt, t.error) for t in reference.tasks
    ]
    (recorded,) = Records.for_environment(project, "dev").runs()
    assert (recorded.run_id, recorded.status, recorded.trigger) == (run_id, "failed", "airflow")


def test_unknown_tasks_and_runs_are_clear_errors(tmp_path: Path) -> None:
    project = write_project(tmp_path / "steps", {"job": JOB})
    with pytest.raises(PipelineError, match="job 'job' has no task 'nope'; its tasks: "):
        run_task(project, "job", "nope", run_id="r1", env="dev")
    with pytest.raises(PipelineError, match="no run r1 of job 'job'"):
        finish_run(project, "job", run_id="r1", env="dev")
