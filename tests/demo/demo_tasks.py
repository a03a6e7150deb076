"""Task functions of the demo's error tests: an `ingest` job that fails."""

from __future__ import annotations

from lakestack.pipelines import TaskContext


def broken_download(ctx: TaskContext) -> None:
    raise ConnectionError("the flights archive could not be downloaded")
