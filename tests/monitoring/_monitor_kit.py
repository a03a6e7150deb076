"""Helpers of the monitoring tests: a project with monitors and synthetic inference tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import _kit as kit
from lakestack.config import Project
from lakestack.lake import Lake
from lakestack.validation import infer_schema

HERE = Path(__file__).parent
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TABLE = "inference.flights"


def write_project(
    folder: Path, monitors: dict[str, Any], jobs: dict[str, Any] | None = None
) -> Project:
    """A project with these monitors, a `baseline.json` of unshifted data and `monitor_tasks.py`."""
    folder.mkdir(parents=True, exist_ok=True)
    infer_schema(batch(0, 2000, seed=99).select("x", "c")).save(folder / "baseline.json")
    return kit.write_project(
        folder, name="mon", files=[HERE / "monitor_tasks.py"], monitors=monitors, jobs=jobs
    )


def monitor(**extra: Any) -> dict[str, Any]:
    """A monitor of `inference.flights` with hourly windows and the file baseline."""
    return {
        "table": TABLE,
        "model": "flights",
        "window": "1h",
        "baseline": {"schema_file": "baseline.json"},
        **extra,
    }


def batch(
    hour: int, rows: int = 400, *, shift: float = 0.0, seed: int | None = None
) -> pl.DataFrame:
    """Inference rows spread over hour `hour` after T0; `shift` moves `x` and skews `c`."""
    rng = np.random.default_rng(hour if seed is None else seed)
    x = rng.normal(shift, 1.0, rows)
    c = rng.choice(["a", "b", "c"], rows, p=[0.8, 0.1, 0.1] if shift else [0.34, 0.33, 0.33])
    prediction = 1 / (1 + np.exp(-x))
    start = T0 + timedelta(hours=hour)
    return pl.DataFrame(
        {
            "request_id": [f"h{hour}-r{i}" for i in range(rows)],
            "row": np.zeros(rows, dtype=np.int64),
            "ts": [start + timedelta(seconds=3599 * i / rows) for i in range(rows)],
            "model_version": np.ones(rows, dtype=np.int64),
            "status": np.full(rows, 200, dtype=np.int32),
            "latency_ms": np.full(rows, 1.5),
            "prediction": prediction,
            "x": x,
            "c": c,
        },
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))


def write_hours(lake: Lake, hours: list[int], *, shift: float = 0.0) -> None:
    lake.append(TABLE, pl.concat([batch(h, shift=shift) for h in hours]))


def labels_for(frame: pl.DataFrame, *, flip: float = 0.0, seed: int = 0) -> pl.DataFrame:
    """Labels that agree with the prediction, a share `flip` of them flipped."""
    rng = np.random.default_rng(seed)
    agree = (frame["prediction"].to_numpy() >= 0.5).astype(np.int64)
    flipped = rng.random(frame.height) < flip
    return pl.DataFrame(
        {
            "request_id": frame["request_id"],
            "row": frame["row"],
            "label": np.where(flipped, 1 - agree, agree),
        }
    )


def at(hour: int) -> datetime:
    """`now` just after hour `hour` after T0 has ended."""
    return T0 + timedelta(hours=hour + 1, minutes=1)


MakeProject = Callable[..., Project]
"""The type of the `make_project` fixture."""
