"""Counting current data on a baseline's stored bins, and the KS distance to its stored ECDF."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import polars as pl

from lakestack.validation._schema import PERCENTILE_LEVELS, CategoricalStats, NumericStats

__all__ = ["OTHER", "Counts", "category_counts", "ks_statistic", "numeric_counts"]

#: The bin of values outside a stored domain.
OTHER = "(other)"

#: Current counts, reference counts and bin labels.
Counts: TypeAlias = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], tuple[str, ...]]


def numeric_counts(values: npt.NDArray[np.float64], stats: NumericStats) -> Counts:
    """Sorted current values counted on the baseline histogram's bins (outer bins open-ended)."""
    hist = stats.histogram
    below = np.searchsorted(values, np.asarray(hist.edges[1:-1]), side="left")
    current = np.diff(np.concatenate(([0], below, [values.size]))).astype(np.int64)
    reference = np.asarray(hist.counts, dtype=np.int64)
    return current, reference, _numeric_labels(hist.edges, hist.discrete)


def ks_statistic(values: npt.NDArray[np.float64], stats: NumericStats) -> float:
    """KS distance between sorted current values and the baseline's stored ECDF.

    Both CDFs are compared just below and at each knot of the baseline (each distinct value of
    a discrete column, each distinct percentile otherwise). For a discrete baseline that is the
    exact statistic; for a continuous one it can miss the peak between two percentiles by at
    most one percentile step (0.01).
    """
    hist = stats.histogram
    if hist.discrete:
        knots = np.asarray(hist.edges[:-1])
        counts = np.asarray(hist.counts, dtype=np.float64)
        ref_le = np.cumsum(counts) / counts.sum()
        ref_lt = ref_le - counts / counts.sum()
    else:
        levels = np.asarray(PERCENTILE_LEVELS)
        knots, first, repeats = np.unique(
            np.asarray(stats.percentiles), return_index=True, return_counts=True
        )
        ref_lt = levels[first]
        ref_le = levels[first + repeats - 1]
    cur_lt = np.searchsorted(values, knots, side="left") / values.size
    cur_le = np.searchsorted(values, knots, side="right") / values.size
    return float(max(np.max(np.abs(cur_le - ref_le)), np.max(np.abs(cur_lt - ref_lt))))


def category_counts(series: pl.Series, stats: CategoricalStats) -> Counts:
    """Current and reference counts over the domain, plus "(other)" when either has some."""
    domain = stats.values
    size = len(domain)
    counted = series.cast(pl.String).drop_nulls().alias("value").value_counts(name="count")
    lookup = pl.DataFrame(
        {"value": list(domain), "index": list(range(size))},
        schema={"value": pl.String, "index": pl.Int64},
    )
    joined = counted.join(lookup, on="value", how="left")
    index = joined.get_column("index").fill_null(size).to_numpy()
    weights = joined.get_column("count").cast(pl.Float64).to_numpy()
    cur = np.bincount(index, weights=weights, minlength=size + 1).astype(np.int64)
    ref = np.asarray([*stats.counts, stats.other_count], dtype=np.int64)
    labels = (*domain, OTHER)
    if cur[-1] == 0 and ref[-1] == 0:
        return cur[:-1], ref[:-1], labels[:-1]
    return cur, ref, labels


def _numeric_labels(edges: tuple[float, ...], discrete: bool) -> tuple[str, ...]:
    if discrete:
        return tuple(_fmt(v) for v in edges[:-1])
    bins = len(edges) - 1
    if bins == 1:
        return ("all",)
    labels = [f"< {_fmt(edges[1])}"]
    labels += [f"[{_fmt(edges[i])}, {_fmt(edges[i + 1])})" for i in range(1, bins - 1)]
    labels.append(f"≥ {_fmt(edges[-2])}")
    return tuple(labels)


def _fmt(value: float) -> str:
    """A short bin edge for labels: 4 significant digits, k/M/G/T past 10,000."""
    size = abs(value)
    if 9999.5 <= size < 1e15:
        for power, suffix in ((1e3, "k"), (1e6, "M"), (1e9, "G"), (1e12, "T")):
            if size / power < 999.5:
                return f"{value / power:.3g}{suffix}"
    if size >= 1e-3 or value == 0:
        return f"{value:.4g}"
    return f"{value:.3g}"
