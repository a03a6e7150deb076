"""Batch scoring: a Delta table (or a version of it) through a model, in Arrow batches."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from lakestack.errors import ServingError
from lakestack.serving._model import ServedModel

if TYPE_CHECKING:
    import pyarrow as pa

    from lakestack.config import Project

__all__ = ["ScoreResult", "parse_model_ref", "score_table"]

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

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


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
    write_rows: int = 1_000_000,
    columns: list[str] | None = None,
    progress: Progress | None = None,
) -> ScoreResult:
    """Score a table with a model version and append the predictions to `output`.

    The source is read at one Delta version (the latest, or the one pinned as
    `silver.flights@7`) and streamed in Arrow batches; LightGBM and scikit-learn models score
    NumPy arrays, others get pandas frames through the pyfunc. Every output row carries
    `prediction`, `model`, `model_version`, `source_table`, `source_version`, `score_id` and
    `scored_at`, with the source's columns (or only `columns`).

    Args:
        model: `name@alias` or `name@version`.
        table: the source table, optionally pinned (`silver.flights@7`).
        output: the table the predictions are appended to.
        batch_rows: rows per Arrow batch.
        write_rows: rows per Delta append.
        columns: source columns to copy to the output (default: all).
        progress: called with (rows done, total rows) after each batch.

    Raises:
        ServingError: a bad model reference, or the table lacks the model's input columns.
    """
    import pyarrow as pa

    from lakestack.lake import Lake, TableRef
    from lakestack.registry import ModelRegistry

    started = time.perf_counter()
    name, ref = parse_model_ref(model)
    registry = ModelRegistry(project, environment)
    lake: Lake = registry.lake
    served = ServedModel.wrap(registry.load_model(name, ref))
    source_ref = TableRef.parse(table)
    delta = lake.open(source_ref)
    source_version = delta.version()
    dataset = delta.to_pyarrow_dataset()
    names = served.schema.names if served.schema is not None else None
    available = dataset.schema.names
    if names is not None:
        missing = [n for n in names if n not in available]
        if missing:
            raise ServingError(
                f"table {source_ref.name} lacks the input column(s) {', '.join(missing)} of "
                f"model {name!r} version {served.version}; it has {', '.join(available)}"
            )
    keep = columns if columns is not None else available
    total = dataset.count_rows()
    score_id = uuid.uuid4().hex
    scored_at = datetime.now(UTC)
    pending: list[pa.Table] = []
    pending_rows = done = 0
    output_version = -1
    for batch in dataset.to_batches(batch_size=batch_rows):
        if batch.num_rows == 0:
            continue
        predictions = _predict(served, batch, names)
        out = pa.Table.from_batches([batch]).select(keep)
        extra = {
            "prediction": pa.array(predictions, pa.float64()),
            "model": pa.array([name] * batch.num_rows, pa.string()),
            "model_version": pa.array([served.version] * batch.num_rows, pa.int64()),
            "source_table": pa.array([str(source_ref.name)] * batch.num_rows, pa.string()),
            "source_version": pa.array([source_version] * batch.num_rows, pa.int64()),
            "score_id": pa.array([score_id] * batch.num_rows, pa.string()),
            "scored_at": pa.array([scored_at] * batch.num_rows, pa.timestamp("us", tz="UTC")),
        }
        for column, values in extra.items():
            out = out.append_column(column, values)
        pending.append(out)
        pending_rows += batch.num_rows
        done += batch.num_rows
        if pending_rows >= write_rows:
            output_version = lake.append(output, pa.concat_tables(pending))
            pending, pending_rows = [], 0
        if progress is not None:
            progress(done, total)
    if pending:
        output_version = lake.append(output, pa.concat_tables(pending))
    return ScoreResult(
        score_id=score_id,
        model=name,
        model_version=served.version,
        source=str(source_ref.name),
        source_version=source_version,
        output=output,
        output_version=output_version,
        rows=done,
        seconds=time.perf_counter() - started,
    )


def _predict(served: ServedModel, batch: pa.RecordBatch, names: list[str] | None) -> Any:
    if served.fast is not None and names is not None:
        matrix = np.column_stack(
            [batch.column(n).to_numpy(zero_copy_only=False).astype(np.float64) for n in names]
        )
        output = served.fast(matrix)
    else:
        frame = batch.to_pandas()
        output = served.loaded.predict(frame[names] if names is not None else frame)
    if hasattr(output, "to_numpy"):
        output = output.to_numpy()
    array = np.asarray(output)
    if array.ndim == 2:
        array = array[:, -1]  # the positive class of a probability output
    return array.astype(np.float64).reshape(-1)
