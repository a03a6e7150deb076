"""`TaskContext`: what a task function gets, and what it reports back through it."""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from lakestack.errors import PipelineError

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from lakestack.config import Project
    from lakestack.lake import Lake, TableEvent

__all__ = ["TableAccess", "TaskContext"]


@dataclass(frozen=True)
class TableAccess:
    """One read or write of a table version by a task (a lineage edge).

    Attributes:
        kind: `read` or `write`.
        table: `<schema>.<table>`.
        environment: the environment whose lake holds the table.
        version: the Delta version read, or the version the write created.
        operation: `read`, `append`, `overwrite`, `merge`, `delete`, ...
    """

    kind: Literal["read", "write"]
    table: str
    environment: str
    version: int
    operation: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableAccess:
        return cls(
            kind=data["kind"],
            table=str(data["table"]),
            environment=str(data["environment"]),
            version=int(data["version"]),
            operation=str(data.get("operation", data["kind"])),
        )


class TaskContext:
    """The context passed to every task function: `def task(ctx: TaskContext) -> ...`.

    Reads and writes through `ctx.lake` (or `read_table` / `write_table`) carry the run's
    write context into each Delta commit and are recorded with their exact versions.

    Attributes:
        environment: the environment the run runs in (`dev`, `staging`, `prod`, ...).
        params: the task's parameters, with the environment's overrides and the run's applied.
        run_id: the run's id.
        job: the job's name.
        task: the task's name.
        attempt: 1 for the first attempt, 2 for the first retry, ...
        upstream: the return values of the tasks this one depends on, by task name.
        project: the project.
        lake: the environment's lake, writing with this run's context.
        logger: a logger writing to the task's log file (so do `print` and stderr).
        metrics: the metrics logged with `log_metric`.
        mlflow_run_ids: the MLflow runs recorded with `record_mlflow_run`.

    Example:
        >>> def build_silver(ctx: TaskContext) -> dict[str, int]:  # doctest: +SKIP
        ...     raw = ctx.read_polars("bronze.flights")
        ...     version = ctx.write_table("silver.flights", raw.drop_nulls())
        ...     ctx.log_metric("rows", raw.height)
        ...     return {"version": version}
    """

    def __init__(
        self,
        *,
        project: Project,
        lake: Lake,
        job: str,
        task: str,
        run_id: str,
        params: dict[str, Any],
        upstream: dict[str, Any],
        attempt: int = 1,
        logger: logging.Logger | None = None,
    ) -> None:
        self.project = project
        self.environment = lake.environment
        self.job = job
        self.task = task
        self.run_id = run_id
        self.attempt = attempt
        self.params = params
        self.upstream = upstream
        self.logger = logger or logging.getLogger(f"lakestack.task.{job}.{task}")
        self.metrics: dict[str, float] = {}
        self.mlflow_run_ids: list[str] = []
        self._accesses: list[TableAccess] = []
        self.lake = lake.with_context(run_id=run_id, job=job, task=task)
        self.lake.add_listener(self._record)

    def _record(self, event: TableEvent) -> None:
        access = TableAccess(
            event.kind, event.table, event.environment, event.version, event.operation
        )
        if access.kind == "write" or access not in self._accesses:
            self._accesses.append(access)

    @property
    def reads(self) -> list[TableAccess]:
        """The table versions this task read so far."""
        return [a for a in self._accesses if a.kind == "read"]

    @property
    def writes(self) -> list[TableAccess]:
        """The table versions this task wrote so far."""
        return [a for a in self._accesses if a.kind == "write"]

    def read_table(self, name: str, **kwargs: Any) -> pa.Table:
        """Read a table as Arrow (`Lake.read`'s arguments: version, columns, filters, ...)."""
        return self.lake.read(name, **kwargs)

    def read_polars(self, name: str, **kwargs: Any) -> pl.DataFrame:
        """Read a table as a Polars DataFrame (`Lake.read`'s arguments)."""
        return self.lake.read_polars(name, **kwargs)

    def write_table(
        self,
        name: str,
        data: Any,
        *,
        mode: Literal["overwrite", "append", "merge"] = "overwrite",
        keys: list[str] | None = None,
        **kwargs: Any,
    ) -> int:
        """Write a table and return the Delta version the write created.

        Args:
            name: `<schema>.<table>`.
            data: a pyarrow Table, a polars or pandas DataFrame, or a mapping of columns.
            mode: `overwrite` (the default), `append`, or `merge` (upsert on `keys`).
            keys: the key columns of a merge.
            **kwargs: passed on to `Lake.overwrite`, `Lake.append` or `Lake.merge`.

        Raises:
            PipelineError: a merge without keys, or an unknown mode.
        """
        if mode == "overwrite":
            return self.lake.overwrite(name, data, **kwargs)
        if mode == "append":
            return self.lake.append(name, data, **kwargs)
        if mode == "merge":
            if not keys:
                raise PipelineError(f"write_table({name!r}, mode='merge') needs keys=[...]")
            return self.lake.merge(name, data, keys, **kwargs)
        raise PipelineError(f"unknown write mode {mode!r}; use overwrite, append or merge")

    def log_metric(self, name: str, value: float) -> None:
        """Record a metric of this task (the last value of a name wins)."""
        number = float(value)
        if not math.isfinite(number):
            raise PipelineError(f"metric {name!r} must be a finite number, got {value!r}")
        self.metrics[str(name)] = number

    def record_mlflow_run(self, run_id: str) -> None:
        """Record that this task logged the MLflow run `run_id` (kept in the run's records)."""
        if run_id not in self.mlflow_run_ids:
            self.mlflow_run_ids.append(str(run_id))
