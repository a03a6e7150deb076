"""Data files of the three problem types, with a signal a model can learn, for `init`."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

START = datetime(2024, 1, 1)


def binary(rows: int = 3000, seed: int = 0) -> pl.DataFrame:
    """Customers who churn (bool) or not: an id, a signup time, numbers and categories."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows).astype(float)
    charges = rng.normal(70, 20, rows)
    calls = rng.poisson(2, rows)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    logit = -1.0 - 0.04 * tenure + 0.03 * (charges - 70) + 0.4 * calls + 1.2 * (plan == "basic")
    return pl.DataFrame(
        {
            "customer_id": [f"c{i:06d}" for i in range(rows)],
            "signup_ts": [START + timedelta(hours=i) for i in range(rows)],
            "tenure_months": tenure,
            "monthly_charges": charges,
            "support_calls": calls,
            "plan": plan,
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "notes": [f"called on day {i}" for i in range(rows)],
            "churned": rng.random(rows) < 1 / (1 + np.exp(-logit)),
        }
    )


def multiclass(rows: int = 3000, seed: int = 1) -> pl.DataFrame:
    """Accounts in one of three segments (strings): an integer id, a date, numbers, a category."""
    rng = np.random.default_rng(seed)
    spend = rng.gamma(2.0, 50.0, rows)
    visits = rng.poisson(5, rows).astype(float)
    channel = rng.choice(["web", "store", "phone"], rows)
    score = 0.02 * spend + 0.3 * visits + 1.0 * (channel == "store") + rng.normal(0, 1, rows)
    segment = np.where(score < 2.5, "bronze", np.where(score < 4.5, "silver", "gold"))
    return pl.DataFrame(
        {
            "account_id": np.arange(rows),
            "opened": [(START + timedelta(hours=3 * i)).date() for i in range(rows)],
            "spend": spend,
            "visits": visits,
            "channel": channel,
            "segment": segment,
        }
    )


def regression(rows: int = 3000, seed: int = 2) -> pl.DataFrame:
    """Flat prices (floats) from their size, rooms and city: no id and no time column."""
    rng = np.random.default_rng(seed)
    size = rng.uniform(30, 150, rows)
    rooms = rng.integers(1, 6, rows)
    city = rng.choice(["lyon", "paris", "nantes"], rows)
    base = {"lyon": 3500.0, "paris": 9000.0, "nantes": 3000.0}
    price = size * np.array([base[c] for c in city]) + 5000 * rooms + rng.normal(0, 20000, rows)
    return pl.DataFrame({"size_m2": size, "rooms": rooms, "city": city, "price": price})


def write(frame: pl.DataFrame, path: Path) -> Path:
    """Write a frame as CSV or Parquet, as the suffix says."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)
    return path
