"""Small deterministic datasets shared by the validation tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from lakestack.validation import Schema, infer_schema


def _make_frame(rows: int = 2_000, *, seed: int = 0, shift: float = 0.0) -> pl.DataFrame:
    """A frame with one column of each logical type; ``shift`` moves every distribution."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10 + shift, 0.5, rows)
    income[rng.random(rows) < 0.05] = np.nan
    weights = np.array([0.5, 0.3, 0.2]) if shift == 0 else np.array([0.2, 0.3, 0.5])
    start = dt.datetime(2024, 1, 1)
    return pl.DataFrame(
        {
            "age": rng.integers(18, 90, rows),
            "income": income,
            "month": rng.integers(1, 13, rows),
            "city": rng.choice(["paris", "lyon", "nice"], rows, p=weights),
            "member": rng.random(rows) < 0.3,
            "seen_at": [start + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 10**5, rows)],
            "day": [start.date() + dt.timedelta(days=int(d)) for d in rng.integers(0, 60, rows)],
        }
    )


@pytest.fixture(scope="session")
def make_frame() -> Callable[..., pl.DataFrame]:
    """Build a frame: ``make_frame(rows=2000, seed=0, shift=0.0)``."""
    return _make_frame


@pytest.fixture(scope="session")
def frame() -> pl.DataFrame:
    """The default baseline frame (2,000 rows)."""
    return _make_frame()


@pytest.fixture(scope="session")
def baseline(frame: pl.DataFrame) -> Schema:
    """The schema and statistics inferred from `frame`."""
    return infer_schema(frame)
