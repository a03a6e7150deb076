"""Helpers of the template tests: a small synthetic frame shaped like the flights training set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from lakestack.templates.flights.flights_ml import training

__all__ = ["labelled_frame"]


def labelled_frame(rows: int, *, origins: bool = True) -> pl.DataFrame:
    """`rows` flights 6 hours apart with every feature, the label depending on two of them."""
    rng = np.random.default_rng(0)
    start = datetime(2013, 1, 1, tzinfo=UTC)
    data = {name: rng.normal(size=rows) for name in training.FEATURES}
    logit = 1.5 * data["carrier_7d_late_share"] + data["temp"]
    extra = {"origin": rng.choice(["EWR", "JFK", "LGA"], rows)} if origins else {}
    return pl.DataFrame(
        {
            **data,
            "sched_dep_ts": [start + timedelta(hours=6 * i) for i in range(rows)],
            **extra,
            training.LABEL: rng.random(rows) < 1 / (1 + np.exp(-logit)),
        }
    )
