"""Streaming scoring: each new version of a Delta table's new rows, scored exactly once.

`ScoreStream` follows a source table. Its first step scores the table as it is (or, with
`since`, only what later versions add); each later step scores the rows the versions since
the last step appended, read from the files those versions added (`Lake.changes`), with the
version of the model that holds the alias at that moment, so a promotion takes effect from
the next rows on. Every output row carries the model version that scored it and the source
version that added it.

Where the stream stands is recorded in the output table itself, in the same Delta commit as
the predictions: Delta's application transaction marker (`txn`: an app id and a version, the
mechanism Delta gives streaming writers for idempotent appends), here the last source version
scored. A commit either lands with its rows and its marker, or not at all, so a follower killed
at any point (even `kill -9`) restarts from the marker and scores no row twice and none
never. A second follower of the same stream cannot commit over the first: Delta refuses two
commits of one app id from the same table version.

A source version that deleted, updated or replaced rows in place (an overwrite, a merge, a
delete) stops the stream with an error that names it: its rows were scored before and cannot be
unscored, and scoring the whole table again is a decision for the user (a batch
`lakestack score`, or going past it with `since`). An OPTIMIZE only moves rows and is passed.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakestack.errors import ServingError, WriteConflictError
from lakestack.serving._model import ServedModel
from lakestack.serving._scoring import (
    BatchPredictor,
    Predictors,
    _columns,
    _in_order,
    _predictors,
    _Run,
    parse_model_ref,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from lakestack.config import Project
    from lakestack.lake import Lake, TableChange
    from lakestack.pipelines import TaskContext

__all__ = ["ScoreStream", "StreamCommit", "score_new_rows"]


@dataclass(frozen=True)
class StreamCommit:
    """One commit of a stream: the rows of some source versions, scored.

    Attributes:
        first_version: the first source version it covers.
        last_version: the last one (the stream's marker after this commit).
        rows: rows scored.
        model_version: the model version that scored them.
        output_version: the output table's version this commit created.
        seconds: wall time of reading, scoring and writing them.
    """

    first_version: int
    last_version: int
    rows: int
    model_version: int | None
    output_version: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ScoreStream:
    """A follower of one source table: scores what its new versions append, exactly once.

    Args:
        project: the project.
        model: `name@alias` (followed as the alias moves) or `name@version`.
        table: the source table, `schema.table`.
        output: the table the predictions are appended to (it holds the stream's marker).
        environment: the environment (default: the project's).
        since: with no marker yet, start after this source version instead of scoring the
            table as it is; past the marker, skip to it (the versions in between are not
            scored: the way past a version that rewrote rows).
        columns: source columns to copy to the output (default: all).
        batch_rows: rows per Arrow batch.
        write_rows: rows per commit, at most (a version is never split: a larger one is one
            commit of its own).
        engine: `local`, `ray` or `ray://host:port` (default: the environment's engine).
        workers: predictor threads or Ray actors.
        lake: the lake to read and write through (a task passes `ctx.lake` for lineage).

    Example:
        >>> with ScoreStream(project, "m@production", "bronze.events", "gold.scores") as s:
        ...     s.run(poll_seconds=2.0, stop=threading.Event())  # doctest: +SKIP
    """

    def __init__(
        self,
        project: Project,
        model: str,
        table: str,
        output: str,
        environment: str | None = None,
        *,
        since: int | None = None,
        columns: list[str] | None = None,
        batch_rows: int = 65_536,
        write_rows: int = 1_000_000,
        engine: str | None = None,
        workers: int | None = None,
        lake: Lake | None = None,
    ) -> None:
        from lakestack.lake import TableName
        from lakestack.registry import ModelRegistry

        self.model_name, self._ref = parse_model_ref(model)
        if "@" in table:
            raise ServingError(
                f"the source of a stream is a table, not a pinned version: write "
                f"{table.split('@', 1)[0]} (and --since {table.split('@', 1)[1]} to start "
                "after that version)"
            )
        self.source = str(TableName.parse(table))
        self.output = output
        self._registry = ModelRegistry(project, environment)
        self.lake = lake or self._registry.lake
        self._engine = engine or project.environment(environment).engine
        self._since = since
        self._columns = columns
        self._batch_rows = batch_rows
        self._write_rows = max(1, write_rows)
        self._workers = workers
        self._served: ServedModel | None = None
        self._predictors: Predictors | None = None
        self._position: int | None = None  # versions looked at, beyond the marker when empty

    @property
    def app_id(self) -> str:
        """The stream's id in the output's transaction markers: source and model."""
        return f"lakestack.score:{self.source}:{self.model_name}"

    def scored_version(self) -> int | None:
        """The last source version scored, as recorded in the output (None: not started)."""
        return self.lake.transaction_version(self.output, self.app_id)

    def step(self, stop: threading.Event | None = None) -> list[StreamCommit]:
        """Score every source version not scored yet, one commit per `write_rows` rows.

        Args:
            stop: when set, return after the commit in progress.

        Raises:
            ServingError: a source version rewrote rows (after committing the versions
                before it), the source lacks the model's columns, or another follower of the
                same stream committed first.
        """
        changes, latest = self._pending()
        commits: list[StreamCommit] = []
        for group, rewrite in _groups(changes, self._write_rows):
            if group:
                commits.append(self._commit(group))
                self._position = commits[-1].last_version
            if rewrite is not None:
                raise self._rewritten(rewrite)
            if stop is not None and stop.is_set():
                return commits
        self._position = latest  # the versions with no rows are passed too
        return commits

    def run(
        self,
        poll_seconds: float,
        stop: threading.Event,
        on_commit: Callable[[StreamCommit], None] | None = None,
        on_idle: Callable[[int | None], None] | None = None,
    ) -> None:
        """Step, then wait `poll_seconds` for new versions, until `stop` is set.

        Args:
            on_commit: called after each commit.
            on_idle: called with the last version scored when there is nothing to score.
        """
        while not stop.is_set():
            for commit in self.step(stop):
                if on_commit is not None:
                    on_commit(commit)
            if on_idle is not None and not stop.is_set():
                on_idle(self._position)
            stop.wait(poll_seconds)

    def close(self) -> None:
        """Stop the predictor threads or actors."""
        if self._predictors is not None:
            self._predictors.close()
            self._predictors = None

    def __enter__(self) -> ScoreStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- what to score ----------------------------------------------------------------------

    def _pending(self) -> tuple[list[TableChange], int]:
        """The changes to score, and the source's latest version they reach."""
        from lakestack.lake import TableChange

        marker = self.scored_version()
        start = marker
        if self._since is not None and (start is None or self._since > start):
            start = self._since
        if self._position is not None and start is not None:
            start = max(start, self._position)
        latest = self.lake.version(self.source)
        if start is None:  # the first step: the table as it is
            dataset, version = self.lake.scan(f"{self.source}@{latest}")
            return [TableChange(version, "snapshot", dataset.count_rows(), dataset, False)], latest
        return self.lake.changes(self.source, start, upto=latest), max(start, latest)

    def _rewritten(self, change: TableChange) -> ServingError:
        return ServingError(
            f"version {change.version} of {self.source} is a {change.operation} that deleted, "
            f"updated or replaced rows in place; streaming scoring scores appended rows only "
            f"(scored up to version {change.version - 1}). To go past it without scoring its "
            f"rows, run again with --since {change.version}; to score the table as it is now, "
            "run `lakestack score` without --follow (into a new output)"
        )

    # -- scoring ----------------------------------------------------------------------------

    def _model(self) -> tuple[ServedModel, Predictors]:
        """The model holding the alias now (loaded again when it moved), and its predictors."""
        version = self._registry.version(self.model_name, self._ref).version
        if self._served is None or self._served.version != version:
            self.close()
            self._served = ServedModel.wrap(self._registry.load_model(self.model_name, version))
        if self._predictors is None:
            predictor = BatchPredictor.of(self._served)
            self._predictors = _predictors(self._engine, predictor, self._workers)
        return self._served, self._predictors

    def _commit(self, group: list[TableChange]) -> StreamCommit:
        import pyarrow as pa

        started = time.perf_counter()
        served, predictors = self._model()
        score_id, scored_at = uuid.uuid4().hex, datetime.now(UTC)
        tables: list[pa.Table] = []
        names = BatchPredictor.of(served).names
        for change in group:
            if change.appended is None:
                continue
            keep, read = _columns(
                self.source,
                change.appended.schema.names,
                names,
                self._columns,
                served,
                self.output,
            )
            run = _Run(
                self.model_name,
                served.version,
                self.source,
                change.version,
                score_id,
                scored_at,
                keep,
            )
            batches = _batches(change.appended, read, self._batch_rows)
            tables += [run.rows(b, p) for b, p in _in_order(predictors, batches)]
        last = group[-1].version
        rows = sum(t.num_rows for t in tables)
        try:
            version = self.lake.append(
                self.output,
                pa.concat_tables(tables, promote_options="default"),
                transaction=(self.app_id, last),
            )
        except WriteConflictError as exc:
            raise ServingError(
                f"another follower of {self.source} with model {self.model_name!r} committed "
                f"to {self.output} first ({exc}); run one follower per stream"
            ) from exc
        seconds = time.perf_counter() - started
        return StreamCommit(group[0].version, last, rows, served.version, version, seconds)


def _batches(dataset: Any, read: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
    return (b for b in dataset.to_batches(columns=read, batch_size=batch_rows) if b.num_rows)


def _groups(
    changes: list[TableChange], write_rows: int
) -> Iterator[tuple[list[TableChange], TableChange | None]]:
    """Consecutive appending versions, up to `write_rows` rows a group; a group ends early at
    a version that rewrote rows, which comes with it (and ends the groups)."""
    group: list[TableChange] = []
    rows = 0
    for change in changes:
        if change.rewrites:
            yield [c for c in group if c.rows], change
            return
        if group and rows + change.rows > write_rows:
            yield [c for c in group if c.rows], None
            group, rows = [], 0
        group.append(change)
        rows += change.rows
    if any(c.rows for c in group):
        yield [c for c in group if c.rows], None


def score_new_rows(ctx: TaskContext) -> dict[str, Any]:
    """A pipeline task that scores what a table's versions appended since its last run.

    Run it on a table-update trigger (`run: lakestack.serving:score_new_rows`); its params are
    those of `ScoreStream`: `model`, `table`, `output`, and optionally `columns`, `since`,
    `batch_rows`, `write_rows`, `workers`. Reads and writes go through `ctx.lake`, so the run
    records the source version it read and the output versions it wrote.

    Returns:
        `rows` scored, `commits` made, `scored_version` (the stream's marker) and the
        `model_version` of the last commit.

    Raises:
        ServingError: a param is missing, or as `ScoreStream.step`.
    """
    params = dict(ctx.params)
    missing = [key for key in ("model", "table", "output") if not params.get(key)]
    if missing:
        raise ServingError(
            f"task {ctx.job}.{ctx.task}: lakestack.serving:score_new_rows needs the param(s) "
            f"{', '.join(missing)} (model: name@alias, table: the source, output: the "
            "predictions table) under params: in lakestack.yaml"
        )
    options = {
        k: params[k] for k in ("since", "batch_rows", "write_rows", "workers") if k in params
    }
    with ScoreStream(
        ctx.project,
        str(params["model"]),
        str(params["table"]),
        str(params["output"]),
        ctx.environment,
        columns=list(params["columns"]) if params.get("columns") else None,
        lake=ctx.lake,
        **options,
    ) as stream:
        commits = stream.step()
        marker = stream.scored_version()
    ctx.logger.info("scored %d rows in %d commit(s)", sum(c.rows for c in commits), len(commits))
    return {
        "rows": sum(c.rows for c in commits),
        "commits": len(commits),
        "scored_version": marker,
        "model_version": commits[-1].model_version if commits else None,
    }
