"""Lineage from the run records: which runs wrote a table at which versions, from what inputs.

Every edge is a Delta version a task actually read or wrote, as `Lake` reported it (the same
version `lakestack tables history` shows, with the run id in its commit metadata).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lakestack.errors import TableNotFoundError
from lakestack.pipelines._run_records import Records, RunRecord, TaskRun

if TYPE_CHECKING:
    from lakestack.config import Project

__all__ = ["LineageEdge", "RunLineage", "TableLineage", "run_lineage", "table_lineage"]


@dataclass(frozen=True)
class LineageEdge:
    """A task of a run read or wrote a version of a table.

    Attributes:
        kind: `read` or `write`.
        at: when the task's attempt ended.
    """

    run_id: str
    job: str
    task: str
    attempt: int
    kind: str
    table: str
    environment: str
    version: int
    operation: str
    at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat() if self.at else None}


def _edges(tasks: list[TaskRun]) -> list[LineageEdge]:
    return [
        LineageEdge(
            run_id=t.run_id,
            job=t.job,
            task=t.task,
            attempt=t.attempt,
            kind=a.kind,
            table=a.table,
            environment=a.environment,
            version=a.version,
            operation=a.operation,
            at=t.ended_at,
        )
        for t in tasks
        for a in (*t.reads, *t.writes)
    ]


@dataclass(frozen=True)
class TableLineage:
    """The lineage of one table.

    Attributes:
        writes: the runs and tasks that wrote it, with the versions they created (by version).
        reads: the runs and tasks that read it, with the versions they read.
        upstream: what the writing runs read (other tables): where its data came from.
        downstream: what the reading runs wrote (other tables): where its data went.
    """

    table: str
    environment: str
    writes: list[LineageEdge]
    reads: list[LineageEdge]
    upstream: list[LineageEdge]
    downstream: list[LineageEdge]

    @property
    def upstream_tables(self) -> list[str]:
        return sorted({e.table for e in self.upstream})

    @property
    def downstream_tables(self) -> list[str]:
        return sorted({e.table for e in self.downstream})

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "environment": self.environment,
            "writes": [e.to_dict() for e in self.writes],
            "reads": [e.to_dict() for e in self.reads],
            "upstream": [e.to_dict() for e in self.upstream],
            "downstream": [e.to_dict() for e in self.downstream],
            "upstream_tables": self.upstream_tables,
            "downstream_tables": self.downstream_tables,
        }


@dataclass(frozen=True)
class RunLineage:
    """What one run read and wrote, task by task."""

    run: RunRecord
    reads: list[LineageEdge]
    writes: list[LineageEdge]

    @property
    def inputs(self) -> list[tuple[str, int]]:
        """`(table, version)` the run read."""
        return sorted({(e.table, e.version) for e in self.reads})

    @property
    def outputs(self) -> list[tuple[str, int]]:
        """`(table, version)` the run created."""
        return sorted({(e.table, e.version) for e in self.writes})

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.to_dict(),
            "reads": [e.to_dict() for e in self.reads],
            "writes": [e.to_dict() for e in self.writes],
        }


def table_lineage(project: Project, table: str, *, env: str | None = None) -> TableLineage:
    """The runs that wrote and read `table`, and the tables upstream and downstream of it.

    Raises:
        TableNotFoundError: the table is not in the environment's lake and no run touched it.

    Example:
        >>> lineage = table_lineage(load_project("."), "silver.flights", env="dev")  # doctest: +SKIP
        >>> [(e.run_id, e.version) for e in lineage.writes]  # doctest: +SKIP
        [('20250101-120000-ab12cd', 3)]
        >>> lineage.upstream_tables  # doctest: +SKIP
        ['bronze.flights']
    """
    from lakestack.lake import TableName

    name = str(TableName.parse(table))
    environment = project.environment(env).name
    records = Records.for_environment(project, environment)
    edges = _edges(records.task_runs())
    edges.sort(key=lambda e: (e.table, e.version, e.run_id, e.task))
    mine = [e for e in edges if e.table == name and e.environment == environment]
    if not mine and not records.lake.exists(name):
        raise TableNotFoundError(
            f"table {name} does not exist in the {environment!r} lake and no run of that "
            "environment read or wrote it; check the name with `lakestack tables list"
            f"{'' if env is None else f' --env {environment}'}`"
        )
    writes = [e for e in mine if e.kind == "write"]
    reads = [e for e in mine if e.kind == "read"]
    writers = {e.run_id for e in writes}
    readers = {e.run_id for e in reads}
    upstream = [e for e in edges if e.run_id in writers and e.kind == "read" and e.table != name]
    downstream = [e for e in edges if e.run_id in readers and e.kind == "write" and e.table != name]
    return TableLineage(name, environment, writes, reads, upstream, downstream)


def run_lineage(project: Project, run_id: str, *, env: str | None = None) -> RunLineage:
    """The table versions one run read and wrote (`run_id` may be a unique prefix).

    Raises:
        PipelineError: no such run.
    """
    records = Records.for_environment(project, env)
    run = records.run(run_id)
    edges = _edges(records.task_runs(run.run_id))
    return RunLineage(
        run,
        reads=[e for e in edges if e.kind == "read"],
        writes=[e for e in edges if e.kind == "write"],
    )
