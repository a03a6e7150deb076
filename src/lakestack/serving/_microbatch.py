"""Micro-batching: concurrent requests to the same model scored in one `predict` call.

MLflow's pyfunc pays a fixed cost per call (a pandas DataFrame, signature enforcement: about
0.5 to 2 ms) whatever the row count, and so does a scikit-learn Pipeline, so under concurrent
load one call for the rows of several requests is cheaper than one call each. Two ways:

- timed (`wait_s` above 0): the first request of a batch waits at most `wait_s` for others
  (or until `max_rows`);
- while busy (`wait_s` 0, the endpoint's default): a request waits for nobody when no batch
  of its model is being scored, and is scored at once; requests that arrive while one is
  being scored gather, and are scored together as soon as it is done. One request at a time
  never waits; under load, batches grow with the load.

The batch is scored in a worker thread and each request gets its own slice of the outputs. Batches hold one `ServedModel` object and one column list, so a
hot swap never mixes versions. When the batch fails, or its outputs are not one per row, each
request is scored alone: only the request at fault gets the error.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from lakestack.serving._model import jsonable

if TYPE_CHECKING:
    from lakestack.serving._model import ServedModel

__all__ = ["MicroBatcher"]

_Key = tuple[int, tuple[str, ...] | None]


@dataclass
class _Batch:
    served: ServedModel
    columns: list[str] | None
    parts: list[tuple[list[list[Any]], asyncio.Future[list[Any]]]] = field(default_factory=list)
    size: int = 0
    timer: asyncio.TimerHandle | None = None


def _score(served: ServedModel, columns: list[str] | None, rows: list[list[Any]]) -> list[Any]:
    """Predictions as JSON values (converted in the worker thread, off the event loop)."""
    return jsonable(served.predict(columns, rows))


class MicroBatcher:
    """Gathers requests to one model for at most `wait_s` seconds or `max_rows` rows.

    Used from the event loop only (no locks): `predict` is awaited by each request.

    Args:
        wait_s: how long the first request of a batch waits for others; 0: it waits only
            while a batch of its model is being scored.
        max_rows: a batch is scored as soon as it has this many rows; a request with at
            least as many is scored alone, at once.
    """

    def __init__(self, wait_s: float, max_rows: int) -> None:
        self.wait_s = wait_s
        self.max_rows = max_rows
        self._pending: dict[_Key, _Batch] = {}
        self._running: set[asyncio.Future[None]] = set()
        self._busy: dict[_Key, int] = {}  # batches being scored, by key

    @property
    def waiting(self) -> int:
        """Requests gathered and not yet being scored."""
        return sum(len(batch.parts) for batch in self._pending.values())

    async def predict(
        self, served: ServedModel, columns: list[str] | None, rows: list[list[Any]]
    ) -> list[Any]:
        """The predictions of `rows` (checked, in schema order), as JSON values.

        Raises:
            Exception: what the model raised scoring these rows alone.
        """
        if len(rows) >= self.max_rows:
            return await run_in_threadpool(_score, served, columns, rows)
        key = (id(served), None if columns is None else tuple(columns))
        batch = self._pending.get(key)
        if batch is not None and batch.size + len(rows) > self.max_rows:
            self._flush(key)
            batch = None
        if batch is None:
            batch = self._pending[key] = _Batch(served, columns)
            if self.wait_s > 0:
                batch.timer = asyncio.get_running_loop().call_later(self.wait_s, self._flush, key)
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        batch.parts.append((rows, future))
        batch.size += len(rows)
        if batch.size >= self.max_rows or (self.wait_s <= 0 and not self._busy.get(key)):
            self._flush(key)
        return await future

    def _flush(self, key: _Key) -> None:
        batch = self._pending.pop(key, None)
        if batch is None:
            return
        if batch.timer is not None:
            batch.timer.cancel()
        self._busy[key] = self._busy.get(key, 0) + 1
        task = asyncio.ensure_future(self._run(batch))
        self._running.add(task)  # a reference, so the task is not collected mid-run
        task.add_done_callback(self._running.discard)
        task.add_done_callback(lambda _: self._done(key))

    def _done(self, key: _Key) -> None:
        """A batch of `key` is scored: the requests that gathered meanwhile go now."""
        busy = self._busy.get(key, 1) - 1
        if busy:
            self._busy[key] = busy
        else:
            self._busy.pop(key, None)
        if self.wait_s <= 0 and not busy:
            self._flush(key)

    async def _run(self, batch: _Batch) -> None:
        served, columns, parts = batch.served, batch.columns, batch.parts
        if len(parts) == 1:
            await _answer(served, columns, *parts[0])
            return
        rows = [row for part, _ in parts for row in part]
        try:
            outputs = await run_in_threadpool(_score, served, columns, rows)
        except Exception:
            outputs = None
        if outputs is None or len(outputs) != len(rows):
            # one request may be at fault (or the model is not row-wise): each alone
            await asyncio.gather(*(_answer(served, columns, *part) for part in parts))
            return
        start = 0
        for part, future in parts:
            if not future.done():  # a request cancelled while it waited
                future.set_result(outputs[start : start + len(part)])
            start += len(part)


async def _answer(
    served: ServedModel,
    columns: list[str] | None,
    rows: list[list[Any]],
    future: asyncio.Future[list[Any]],
) -> None:
    """Score one request alone and settle its future with the predictions or the error."""
    try:
        outputs = await run_in_threadpool(_score, served, columns, rows)
    except Exception as exc:
        if not future.done():
            future.set_exception(exc)
        return
    if not future.done():
        future.set_result(outputs)
