"""Lineage: the recorded versions are the Delta versions actually read and written."""

from __future__ import annotations

import pytest
from _pipelines_kit import MakeProject, task

from lakestack.lake import Lake
from lakestack.pipelines import Records, run_job, run_lineage, table_lineage


def test_recorded_versions_are_the_delta_versions_read_and_written(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Set after the worker pool may have started: workers still write as this principal.
    monkeypatch.setenv("LAKESTACK_PRINCIPAL", "ci-bot")
    project = make_project(
        {
            "copy": {
                "tasks": [
                    task("load", "write_rows", params={"table": "bronze.src", "rows": 2}),
                    task(
                        "copy",
                        "copy_table",
                        "load",
                        params={"source": "bronze.src", "target": "silver.dst"},
                    ),
                ]
            }
        }
    )
    lake = Lake.for_environment(project, "dev")
    lake.append("silver.dst", {"id": [99]})  # someone else wrote first: version 0
    runs = [run_job(project, "copy", env="dev") for _ in range(2)]
    assert all(r.ok for r in runs)

    for result in runs:
        for record in result.tasks:
            for access in record.writes:
                commit = next(c for c in lake.history(access.table) if c.version == access.version)
                assert commit.metadata["run_id"] == result.run_id
                assert commit.metadata["task"] == record.task
                assert commit.metadata["job"] == "copy"
                assert commit.metadata["principal"] == "ci-bot"
    second = runs[1]
    load_version = second.output("load")
    assert [(a.table, a.version) for a in second.task("load").writes] == [
        ("bronze.src", load_version)
    ]
    assert lake.version("bronze.src") == load_version == 1
    copy = second.task("copy")
    assert sorted((a.table, a.version) for a in copy.reads) == [
        ("bronze.src", 0),
        ("bronze.src", 1),
    ]
    assert [(a.table, a.version, a.operation) for a in copy.writes] == [
        ("silver.dst", 3, "overwrite"),
        ("silver.dst", 4, "append"),
    ]
    assert second.output("copy") == {"first": 3, "second": 4}
    assert lake.version("silver.dst") == 4

    # The same edges come back from the records, through the lineage API.
    lineage = table_lineage(project, "silver.dst", env="dev")
    assert [(e.run_id, e.version) for e in lineage.writes] == [
        (runs[0].run_id, 1),
        (runs[0].run_id, 2),
        (runs[1].run_id, 3),
        (runs[1].run_id, 4),
    ]
    assert lineage.upstream_tables == ["bronze.src"]
    assert {(e.run_id, e.version) for e in lineage.upstream} == {
        (runs[0].run_id, 0),
        (runs[1].run_id, 0),
        (runs[1].run_id, 1),
    }
    source = table_lineage(project, "bronze.src", env="dev")
    assert source.downstream_tables == ["silver.dst"]
    assert [(e.task, e.version) for e in source.writes] == [("load", 0), ("load", 1)]

    # A prefix: all but the last hex digit (the two runs may start within the same second).
    by_run = run_lineage(project, second.run_id[:-1], env="dev")
    assert by_run.run.run_id == second.run_id
    assert by_run.outputs == [("bronze.src", 1), ("silver.dst", 3), ("silver.dst", 4)]
    assert by_run.inputs == [("bronze.src", 0), ("bronze.src", 1)]


def test_a_failed_attempt_keeps_the_versions_it_wrote(make_project: MakeProject) -> None:
    project = make_project(
        {
            "half": {
                "tasks": [
                    task("write", "write_then_fail", params={"table": "bronze.half"}),
                ]
            }
        }
    )
    result = run_job(project, "half", env="dev")
    assert result.status == "failed"
    stored = Records.for_environment(project, "dev").final_task_runs(result.run_id)
    assert stored["write"].status == "failed"
    assert [(a.table, a.version) for a in stored["write"].writes] == [("bronze.half", 0)]
    assert table_lineage(project, "bronze.half", env="dev").writes[0].run_id == result.run_id
