"""An endpoint's traffic over time, from its inference table: requests, latency, errors by
kind, and the distribution of its predictions per time bucket."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

__all__ = ["BUCKETS", "traffic_summary"]

BUCKETS = (
    ("1m", timedelta(minutes=1)),
    ("5m", timedelta(minutes=5)),
    ("15m", timedelta(minutes=15)),
    ("1h", timedelta(hours=1)),
    ("6h", timedelta(hours=6)),
    ("1d", timedelta(days=1)),
    ("1w", timedelta(weeks=1)),
)
"""The bucket lengths, shortest first; the shortest giving at most ~60 buckets is used."""

_COLUMNS = ["request_id", "ts", "status", "latency_ms", "prediction", "model_version", "variant"]


def _bucket(span: timedelta, most: int) -> tuple[str, timedelta]:
    for name, length in BUCKETS:
        if span / length <= most:
            return name, length
    return BUCKETS[-1]


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def traffic_summary(frame: pl.DataFrame, *, most: int = 60) -> dict[str, Any]:
    """Per time bucket: requests, rows, latency p50/p95/p99 (per request), error requests by
    HTTP status, and prediction quantiles (p05, p25, p50, p75, p95); plus the totals.

    Args:
        frame: rows of an inference table (`request_id`, `ts`, `status`, `latency_ms`,
            `prediction`, `model_version`, `variant`).
        most: at most about this many buckets.
    """
    import polars as pl

    empty: dict[str, Any] = {"bucket": None, "buckets": [], "totals": {"requests": 0, "rows": 0}}
    if frame.is_empty():
        return empty
    first: datetime = frame["ts"].min()  # type: ignore[assignment]
    last: datetime = frame["ts"].max()  # type: ignore[assignment]
    span = last - first
    name, length = _bucket(span, most)
    every = f"{int(length.total_seconds())}s"
    requests = frame.group_by("request_id").agg(
        pl.col("ts").min(),
        pl.col("status").first(),
        pl.col("latency_ms").first(),
        pl.len().alias("rows"),
    )
    by_time = (
        requests.sort("ts")
        .group_by_dynamic("ts", every=every)
        .agg(
            pl.len().alias("requests"),
            pl.col("rows").sum(),
            *(pl.col("latency_ms").quantile(q / 100).alias(f"p{q}") for q in (50, 95, 99)),
        )
    )
    buckets = [_iso(t) for t in by_time["ts"].to_list()]
    errors = _errors(requests, every, by_time["ts"])
    predictions = _predictions(frame, every)
    ok = frame.filter(pl.col("status") == 200)
    totals = {
        "requests": requests.height,
        "rows": int(requests["rows"].sum()),
        "errors": int((requests["status"] != 200).sum()),
        "rate_per_s": requests.height / max(span.total_seconds(), 1.0),
        **{
            f"latency_p{q}_ms": _num(requests["latency_ms"].quantile(q / 100)) for q in (50, 95, 99)
        },
        "first": _iso(first),
        "last": _iso(last),
        "versions": sorted(int(v) for v in ok["model_version"].drop_nulls().unique().to_list()),
    }
    return {
        "bucket": name,
        "buckets": buckets,
        "requests": by_time["requests"].to_list(),
        "rows": by_time["rows"].to_list(),
        "latency_ms": {f"p{q}": by_time[f"p{q}"].to_list() for q in (50, 95, 99)},
        "errors": errors,
        "predictions": predictions,
        "totals": totals,
    }


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _errors(requests: pl.DataFrame, every: str, buckets: pl.Series) -> dict[str, list[int]]:
    """Error requests per bucket, one series per HTTP status: `{"422": [n per bucket]}`."""
    import polars as pl

    failed = requests.filter(pl.col("status") != 200)
    out: dict[str, list[int]] = {}
    if failed.is_empty():
        return out
    counted = failed.sort("ts").group_by_dynamic("ts", every=every, group_by="status").agg(pl.len())
    frame = pl.DataFrame({"ts": buckets})
    for (status,), part in counted.group_by("status"):
        joined = frame.join(part.select("ts", "len"), on="ts", how="left")
        out[str(status)] = joined["len"].fill_null(0).cast(pl.Int64).to_list()
    return dict(sorted(out.items()))


def _predictions(frame: pl.DataFrame, every: str) -> dict[str, list[Any]]:
    """Quantiles of the numeric predictions of answered rows, per bucket."""
    import polars as pl

    answered = frame.filter((pl.col("status") == 200) & pl.col("prediction").is_not_null())
    if answered.is_empty():
        return {"buckets": []}
    quantiles = (
        answered.sort("ts")
        .group_by_dynamic("ts", every=every)
        .agg(
            *(
                pl.col("prediction").quantile(q / 100).alias(f"p{q:02d}")
                for q in (5, 25, 50, 75, 95)
            )
        )
    )
    out: dict[str, list[Any]] = {"buckets": [_iso(t) for t in quantiles["ts"].to_list()]}
    for q in (5, 25, 50, 75, 95):
        out[f"p{q:02d}"] = quantiles[f"p{q:02d}"].to_list()
    return out
