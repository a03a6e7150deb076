"""Batch scoring: a Delta table (or a version of it) through a model, in Arrow batches.

The work is a small pipeline, so that every core is busy: the calling thread reads Arrow
batches and hands them to the predictors, collects the predictions in batch order, builds the
output rows, and passes them to one writer thread that appends them to Delta while the next
batches are scored.

- `local`: the predictors are threads (one per core). LightGBM and scikit-learn score NumPy
  arrays with the GIL released; LightGBM runs one OpenMP thread per call, so N threads use N
  cores without oversubscribing them. Other pyfunc flavors get one predictor thread: MLflow
  does not promise that their `predict` is thread-safe (and LightGBM's own pyfunc path is
  multi-threaded already).
- `ray`: the predictors are Ray actors (`_scoring_ray.py`), each holding the model once.

The output is the same whatever the engine: the writer appends in batch order.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from lakestack.errors import ServingError
from lakestack.serving._compiled import compiled_predict
from lakestack.serving._model import ServedModel

if TYPE_CHECKING:
    import pyarrow as pa

    from lakestack.config import Project
    from lakestack.lake import Lake

__all__ = ["BatchPredictor", "ScoreResult", "parse_model_ref", "score_table"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ScoreResult:
    """What a scoring run wrote.

    Attributes:
        score_id: the run's id (a column of every row it wrote).
        model: the model's name.
        model_version: the version scored with.
        source: the source table, `schema.table`.
        source_version: the Delta version read.
        output: the output table.
        output_version: the output table's version after the last write.
        rows: rows scored.
        seconds: wall time.
        engine: where the predictions ran (`local`, `ray`, `ray://host:port`).
        workers: predictor threads (local) or Ray actors.
        compiled: whether a compiled LightGBM model predicted (`_compiled.py`).
    """

    score_id: str
    model: str
    model_version: int | None
    source: str
    source_version: int
    output: str
    output_version: int
    rows: int
    seconds: float
    engine: str = "local"
    workers: int = 1
    compiled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class BatchPredictor:
    """Predictions for an Arrow batch, as a float64 vector; picklable, to ship to Ray workers.

    Attributes:
        names: the model's input columns, in signature order (None: the signature names none).
        fast: the NumPy predict function of a LightGBM or scikit-learn model, else None.
        model_path: the MLflow model folder, loaded through the pyfunc when `fast` is None.
        pyfunc: the loaded pyfunc (not pickled; loaded again from `model_path` when needed).
    """

    names: list[str] | None
    fast: Callable[[Any], Any] | None
    model_path: str
    pyfunc: Any = None

    @classmethod
    def of(cls, served: ServedModel) -> BatchPredictor:
        names = served.schema.names if served.schema is not None else None
        fast = served.fast if names is not None else None
        return cls(names, fast, str(served.loaded.path), served.loaded.pyfunc)

    @property
    def thread_safe(self) -> bool:
        """Whether several threads may call it at once (the NumPy fast path)."""
        return self.fast is not None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "pyfunc": None}

    def __call__(self, batch: pa.RecordBatch) -> np.ndarray:
        if self.fast is not None and self.names is not None:
            # one copy per column, straight into the matrix (no float64 copy of a float64)
            matrix = np.empty((batch.num_rows, len(self.names)), dtype=np.float64)
            for i, n in enumerate(self.names):
                matrix[:, i] = batch.column(n).to_numpy(zero_copy_only=False)
            output = self.fast(matrix)
        else:
            if self.pyfunc is None:
                import mlflow.pyfunc

                self.pyfunc = mlflow.pyfunc.load_model(self.model_path)
            frame = batch.to_pandas()
            output = self.pyfunc.predict(frame[self.names] if self.names is not None else frame)
        if hasattr(output, "to_numpy"):
            output = output.to_numpy()
        array = np.asarray(output)
        if array.ndim == 2:
            array = array[:, -1]  # the positive class of a probability output
        return array.astype(np.float64).reshape(-1)


class Predictors(Protocol):
    """Scores batches on some workers; results come back in submission order."""

    workers: int

    def submit(self, batch: pa.RecordBatch) -> None:
        """Start scoring a batch; returns at once."""
        ...

    def next(self) -> np.ndarray:
        """The predictions of the oldest batch not yet returned (waits for them)."""
        ...

    def close(self) -> None:
        """Stop the workers (batches not yet returned are dropped)."""
        ...


class _ThreadPredictors:
    """Predictor threads in this process."""

    def __init__(self, predictor: BatchPredictor, workers: int) -> None:
        self.workers = workers
        self._predictor = predictor
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="lakestack-score")
        self._futures: deque[Future[np.ndarray]] = deque()

    def submit(self, batch: pa.RecordBatch) -> None:
        self._futures.append(self._pool.submit(self._predictor, batch))

    def next(self) -> np.ndarray:
        return self._futures.popleft().result()

    def close(self) -> None:
        for future in self._futures:
            future.cancel()
        self._pool.shutdown(wait=True)


def parse_model_ref(text: str) -> tuple[str, str]:
    """`flights_delay@production` -> (`flights_delay`, `production`); `m@3` -> (`m`, `3`)."""
    name, _, ref = text.partition("@")
    if not name or not ref:
        raise ServingError(
            f"model reference {text!r} names no version: write <model>@production, "
            "<model>@staging or <model>@<version>"
        )
    return name, ref


def score_table(
    project: Project,
    model: str,
    table: str,
    output: str,
    environment: str | None = None,
    *,
    batch_rows: int = 65_536,
    write_rows: int = 262_144,
    columns: list[str] | None = None,
    engine: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    lake: Lake | None = None,
    compiled: bool | None = None,
) -> ScoreResult:
    """Score a table with a model version and append the predictions to `output`.

    The source is read at one Delta version (the latest, or the one pinned as
    `silver.flights@7`) and streamed in Arrow batches; LightGBM and scikit-learn models score
    NumPy arrays, others get pandas frames through the pyfunc. Every output row carries
    `prediction`, `model`, `model_version`, `source_table`, `source_version`, `score_id` and
    `scored_at`, with the source's columns (or only `columns`). Reading, predicting and
    writing overlap; the rows are appended in source order, every `write_rows` rows (a run
    that fails part-way leaves the appends made so far, marked by their `score_id`).

    Args:
        model: `name@alias` or `name@version`.
        table: the source table, optionally pinned (`silver.flights@7`).
        output: the table the predictions are appended to.
        batch_rows: rows per Arrow batch.
        write_rows: rows per Delta append (a commit each). The writer thread overlaps each
            with the scoring of the next rows, so smaller appends leave less to write after
            the last prediction; on a new output four appends of 262,144 rows cost no more CPU
            than one of a million (benchmarks/batch_bench.py).
        columns: source columns to copy to the output (default: all).
        engine: `local`, `ray` or `ray://host:port` (default: the environment's engine).
        workers: predictor threads or Ray actors (default: the CPUs of this machine or of
            the Ray cluster).
        progress: called with (rows done, total rows) after each batch.
        lake: the lake to read and write through (default: the environment's). A task passes
            its `ctx.lake`, so that its run records the source version it read and the output
            versions it wrote, as lineage shows them.
        compiled: predict with the LightGBM model compiled to machine code (lleaves; the
            same predictions several times faster; local engine only): None (default) when
            it is compiled already on this machine or the run scores at least two
            million rows, True always, False never.

    Raises:
        ServingError: a bad model reference or engine, the table lacks the model's input
            columns or one of `columns`, or `compiled` is True for a model that cannot be.

    Example:
        >>> score_table(project, "flights_delay@production", "silver.flights@7",
        ...             "gold.delay_predictions", "prod").rows  # doctest: +SKIP
        336776
    """
    from lakestack.lake import TableRef
    from lakestack.registry import ModelRegistry

    started = time.perf_counter()
    name, ref = parse_model_ref(model)
    spec = engine or project.environment(environment).engine
    if spec != "local" and spec.split("://", 1)[0] != "ray":
        raise ServingError(
            f"batch scoring runs on engine local, ray or ray://host:port, not {spec!r}"
        )
    registry = ModelRegistry(project, environment)
    lake = lake or registry.lake
    served = ServedModel.wrap(registry.load_model(name, ref))
    source_ref = TableRef.parse(table)
    dataset, source_version = lake.scan(source_ref)
    predictor = BatchPredictor.of(served)
    keep, read = _columns(
        str(source_ref.name), dataset.schema.names, predictor.names, columns, served, output
    )
    total = dataset.count_rows()
    if spec == "local" and predictor.fast is not None:
        fast = compiled_predict(
            served.loaded.raw, project.state_dir / "cache" / "compiled", total, compiled
        )
        predictor = replace(predictor, fast=fast or predictor.fast)
        compiled = fast is not None
    elif compiled:
        raise ServingError("compiled scoring runs on the local engine, with a LightGBM model")
    run = _Run(
        name=name,
        version=served.version,
        source=str(source_ref.name),
        source_version=source_version,
        score_id=uuid.uuid4().hex,
        scored_at=datetime.now(UTC),
        keep=keep,
    )
    predictors = _predictors(spec, predictor, workers)
    writer = _Writer(lake, output, write_rows)
    done = 0
    try:
        batches = (b for b in dataset.to_batches(columns=read, batch_size=batch_rows) if b.num_rows)
        for batch, predictions in _in_order(predictors, batches):
            done += batch.num_rows
            writer.add(run.rows(batch, predictions), to_come=total - done)
            if progress is not None:
                progress(done, total)
        output_version = writer.close()
    finally:
        writer.abandon()
        predictors.close()
    return ScoreResult(
        score_id=run.score_id,
        model=name,
        model_version=served.version,
        source=run.source,
        source_version=source_version,
        output=output,
        output_version=output_version,
        rows=done,
        seconds=time.perf_counter() - started,
        engine=spec,
        workers=predictors.workers,
        compiled=bool(compiled),
    )


def _columns(
    source: str,
    available: list[str],
    names: list[str] | None,
    columns: list[str] | None,
    served: ServedModel,
    output: str,
) -> tuple[list[str], list[str]]:
    """The source columns copied to the output, and those read (copied and model inputs).

    Raises:
        ServingError: the source lacks a model input or one of `columns`.
    """
    if names is not None:
        missing = [n for n in names if n not in available]
        if missing:
            raise ServingError(
                f"table {source} lacks the input column(s) {', '.join(missing)} of "
                f"model {served.name!r} version {served.version}; it has {', '.join(available)}"
            )
    unknown = [c for c in columns or [] if c not in available]
    if unknown:
        raise ServingError(
            f"table {source} has no column(s) {', '.join(unknown)} to copy to "
            f"{output}; it has {', '.join(available)}"
        )
    keep = columns if columns is not None else available
    return keep, list(dict.fromkeys([*keep, *(names or available)]))


def _predictors(spec: str, predictor: BatchPredictor, workers: int | None) -> Predictors:
    if spec == "local":
        count = max(1, workers or os.cpu_count() or 1) if predictor.thread_safe else 1
        return _ThreadPredictors(predictor, count)
    from lakestack.serving._scoring_ray import RayPredictors

    return RayPredictors(spec, predictor, workers)


def _in_order(
    predictors: Predictors, batches: Iterator[pa.RecordBatch]
) -> Iterator[tuple[pa.RecordBatch, np.ndarray]]:
    """(batch, predictions) in source order, with up to two batches per worker in flight."""
    waiting: deque[pa.RecordBatch] = deque()
    for batch in batches:
        predictors.submit(batch)
        waiting.append(batch)
        if len(waiting) >= 2 * predictors.workers:
            yield waiting.popleft(), predictors.next()
    while waiting:
        yield waiting.popleft(), predictors.next()


@dataclass(frozen=True)
class _Run:
    """The columns a run adds to every row."""

    name: str
    version: int | None
    source: str
    source_version: int
    score_id: str
    scored_at: datetime
    keep: list[str]
    _constants: dict[str, pa.Array] = field(default_factory=dict, compare=False, repr=False)

    def rows(self, batch: pa.RecordBatch, predictions: np.ndarray) -> pa.Table:
        import pyarrow as pa

        if len(predictions) != batch.num_rows:
            raise ServingError(
                f"model {self.name!r} version {self.version} returned {len(predictions)} "
                f"predictions for {batch.num_rows} rows"
            )
        out = pa.Table.from_batches([batch]).select(self.keep)
        out = out.append_column("prediction", pa.array(predictions, pa.float64()))
        for column, values in self._constant_columns(batch.num_rows).items():
            out = out.append_column(column, values)
        return out

    def _constant_columns(self, rows: int) -> dict[str, pa.Array]:
        """The run's constant columns for `rows` rows: slices of arrays built once for the
        largest batch so far (building a string column anew for each batch cost more than the
        rest of this method)."""
        import pyarrow as pa

        if not self._constants or len(next(iter(self._constants.values()))) < rows:
            values = {
                "model": pa.scalar(self.name, pa.string()),
                "model_version": pa.scalar(self.version, pa.int64()),
                "source_table": pa.scalar(self.source, pa.string()),
                "source_version": pa.scalar(self.source_version, pa.int64()),
                "score_id": pa.scalar(self.score_id, pa.string()),
                "scored_at": pa.scalar(self.scored_at, pa.timestamp("us", tz="UTC")),
            }
            self._constants.update({k: pa.repeat(v, rows) for k, v in values.items()})
        return {column: values.slice(0, rows) for column, values in self._constants.items()}


class _Writer:
    """Appends in order on one thread, one append at a time, while the next rows are scored.

    Only the last append runs after the scoring, with nothing to overlap it, so it is kept
    small: an append of at least half `write_rows` goes early when the rows still to come
    are at most a quarter of it (at most one more commit per run).
    """

    def __init__(self, lake: Lake, output: str, write_rows: int) -> None:
        self._lake = lake
        self._output = output
        self._write_rows = max(1, write_rows)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="lakestack-score-writer")
        self._pending: list[pa.Table] = []
        self._rows = 0
        self._write: Future[int] | None = None
        self._version = -1

    def add(self, rows: pa.Table, to_come: int) -> None:
        self._pending.append(rows)
        self._rows += rows.num_rows
        early = 2 * self._rows >= self._write_rows and 0 < 4 * to_come <= self._rows
        if self._rows >= self._write_rows or early:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        self._wait()  # the previous append first: commits stay in order, memory bounded
        data = pa.concat_tables(self._pending)
        self._pending, self._rows = [], 0
        self._write = self._pool.submit(self._lake.append, self._output, data)

    def _wait(self) -> None:
        if self._write is not None:
            self._version = self._write.result()
            self._write = None

    def close(self) -> int:
        """Append what is left, wait for the last append; the output's version."""
        if self._pending:
            self._flush()
        self._wait()
        return self._version

    def abandon(self) -> None:
        """Stop the thread (after an append in progress, whose error is not raised again)."""
        self._pending = []
        self._pool.shutdown(wait=True)
