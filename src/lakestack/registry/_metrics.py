"""Model metrics, vectorised over rows so that a bootstrap computes hundreds at once.

Each metric takes `y` (labels) and `s` (scores) and returns `k` values, one per row of `k`
resamples. Binary: `y` 0/1 and `s` the positive class's probability, both `(k, n)`.
Regression: `y` the values and `s` the predictions, `(k, n)`. Multiclass: `y` the class
indices `(k, n)` and `s` one probability per class `(k, n, c)`. Which metric fits which problem
is the catalog's (`lakestack.metric_catalog`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lakestack.errors import RegistryError
from lakestack.metric_catalog import HIGHER_IS_BETTER, MODEL_METRICS

__all__ = ["HIGHER_IS_BETTER", "METRICS", "BootstrapResult", "bootstrap_difference", "metric"]

Array = npt.NDArray[np.float64]
MetricFn = Callable[[Array, Array], Array]

_EPS = 1e-15


def _roc_auc(y: Array, s: Array) -> Array:
    from scipy.stats import rankdata

    ranks = rankdata(s, axis=1)  # average ranks for ties
    n = y.shape[1]
    pos = y.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = ((ranks * y).sum(axis=1) - pos * (pos + 1) / 2) / (pos * (n - pos))
    return np.where((pos == 0) | (pos == n), np.nan, auc)


def _log_loss(y: Array, s: Array) -> Array:
    p = np.clip(s, _EPS, 1 - _EPS)
    return np.asarray(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=1))


def _brier(y: Array, s: Array) -> Array:
    return np.asarray(((s - y) ** 2).mean(axis=1))


def _confusion(y: Array, s: Array) -> tuple[Array, Array, Array, Array]:
    pred = (s >= 0.5).astype(np.float64)
    tp = (pred * y).sum(axis=1)
    fp = (pred * (1 - y)).sum(axis=1)
    fn = ((1 - pred) * y).sum(axis=1)
    tn = ((1 - pred) * (1 - y)).sum(axis=1)
    return tp, fp, fn, tn


def _accuracy(y: Array, s: Array) -> Array:
    tp, fp, fn, tn = _confusion(y, s)
    return (tp + tn) / (tp + fp + fn + tn)


def _precision(y: Array, s: Array) -> Array:
    tp, fp, _, _ = _confusion(y, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tp + fp > 0, tp / (tp + fp), 0.0)


def _recall(y: Array, s: Array) -> Array:
    tp, _, fn, _ = _confusion(y, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tp + fn > 0, tp / (tp + fn), 0.0)


def _f1(y: Array, s: Array) -> Array:
    tp, fp, fn, _ = _confusion(y, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)


def _rmse(y: Array, s: Array) -> Array:
    return np.asarray(np.sqrt(((s - y) ** 2).mean(axis=1)))


def _mae(y: Array, s: Array) -> Array:
    return np.asarray(np.abs(s - y).mean(axis=1))


def _r2(y: Array, s: Array) -> Array:
    ss_res = ((y - s) ** 2).sum(axis=1)
    ss_tot = ((y - y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ss_tot > 0, 1 - ss_res / ss_tot, np.nan)


def _classes_predicted(s: Array) -> Array:
    return np.asarray(s.argmax(axis=2), dtype=np.float64)


def _multi_accuracy(y: Array, s: Array) -> Array:
    return np.asarray((_classes_predicted(s) == y).mean(axis=1))


def _f1_macro(y: Array, s: Array) -> Array:
    """The unweighted mean of each class's F1, over classes that are labels or predictions."""
    pred = _classes_predicted(s)
    total = np.zeros(y.shape[0])
    counted = np.zeros(y.shape[0])
    for c in range(s.shape[2]):
        tp = ((pred == c) & (y == c)).sum(axis=1)
        wrong = ((pred == c) != (y == c)).sum(axis=1)  # false positives + false negatives
        present = 2 * tp + wrong > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            total += np.where(present, 2 * tp / (2 * tp + wrong), 0.0)
        counted += present
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counted > 0, total / counted, np.nan)


def _multi_log_loss(y: Array, s: Array) -> Array:
    p = s / s.sum(axis=2, keepdims=True)
    true = np.take_along_axis(p, y.astype(np.int64)[..., None], axis=2)[..., 0]
    return np.asarray(-np.log(np.clip(true, _EPS, 1.0)).mean(axis=1))


def _roc_auc_ovr(y: Array, s: Array) -> Array:
    """The mean over classes of each class's ROC AUC against the rest (classes that have both
    positives and negatives in the rows; NaN when none has)."""
    per_class = np.stack(
        [_roc_auc((y == c).astype(np.float64), s[:, :, c]) for c in range(s.shape[2])]
    )
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(per_class)
        counted = finite.sum(axis=0)
        return np.where(counted > 0, np.where(finite, per_class, 0.0).sum(axis=0) / counted, np.nan)


_BINARY: dict[str, MetricFn] = {
    "accuracy": _accuracy,
    "brier": _brier,
    "f1": _f1,
    "log_loss": _log_loss,
    "precision": _precision,
    "recall": _recall,
    "roc_auc": _roc_auc,
}
_MULTICLASS: dict[str, MetricFn] = {
    "accuracy": _multi_accuracy,
    "f1_macro": _f1_macro,
    "log_loss": _multi_log_loss,
    "roc_auc_ovr": _roc_auc_ovr,
}
_REGRESSION: dict[str, MetricFn] = {"mae": _mae, "r2": _r2, "rmse": _rmse}
METRICS: dict[str, MetricFn] = {**_MULTICLASS, **_REGRESSION, **_BINARY}
"""Every metric by name; `accuracy` and `log_loss` here are the binary ones (1-D scores)."""


def _fn(name: str, scores: Array) -> MetricFn:
    """The metric for scores of this shape: one probability per class (2-D) or one score."""
    if scores.ndim == 2:
        found = _MULTICLASS.get(name)
        if found is None:
            raise RegistryError(
                f"metric {name!r} does not fit class probabilities (a multiclass model); "
                f"its metrics: {', '.join(MODEL_METRICS['multiclass'])}"
            )
        return found
    found = _BINARY.get(name) or _REGRESSION.get(name)
    if found is None:
        if name in _MULTICLASS:
            raise RegistryError(
                f"metric {name!r} needs one probability per class; the scores are one number "
                "per row (a binary or regression model)"
            )
        raise RegistryError(f"unknown metric {name!r}; known metrics: {', '.join(sorted(METRICS))}")
    return found


def metric(name: str, y: npt.ArrayLike, s: npt.ArrayLike) -> float:
    """One metric of labels and scores (NaN when undefined, e.g. the AUC of one class).

    Args:
        name: the metric (see `lakestack.metric_catalog.MODEL_METRICS`).
        y: labels: 0/1 (binary), values (regression) or class indices (multiclass), 1-D.
        s: scores: 1-D, or `(rows, classes)` probabilities for a multiclass model.
    """
    yy = np.asarray(y, dtype=np.float64).reshape(1, -1)
    ss = np.asarray(s, dtype=np.float64)
    fn = _fn(name, ss)
    ss = ss.reshape(1, *ss.shape) if ss.ndim == 2 else ss.reshape(1, -1)
    if yy.shape[1] == 0:
        return float("nan")
    return float(fn(yy, ss)[0])


@dataclass(frozen=True)
class BootstrapResult:
    """The improvement of a candidate over a baseline, with a bootstrap confidence interval.

    `improvement` is `candidate - baseline` for a higher-is-better metric and
    `baseline - candidate` otherwise, so a negative value is always a regression.
    """

    candidate: float
    baseline: float
    improvement: float
    low: float
    high: float
    resamples: int


def bootstrap_difference(
    name: str,
    y: npt.ArrayLike,
    candidate: npt.ArrayLike,
    baseline: npt.ArrayLike,
    *,
    resamples: int = 500,
    confidence: float = 0.95,
    seed: int = 0,
    chunk: int = 50,
) -> BootstrapResult:
    """Paired bootstrap of a metric's improvement on one holdout.

    Both models are scored on the same resampled rows, so the interval reflects the difference
    between them, not the noise of each. Scores are 1-D, or `(rows, classes)` probabilities.
    """
    yy = np.asarray(y, dtype=np.float64)
    cc = np.asarray(candidate, dtype=np.float64)
    bb = np.asarray(baseline, dtype=np.float64)
    fn = _fn(name, cc)
    sign = 1.0 if name in HIGHER_IS_BETTER else -1.0
    cand = float(fn(yy[None], cc[None])[0])
    base = float(fn(yy[None], bb[None])[0])
    rng = np.random.default_rng(seed)
    n = yy.shape[0]
    diffs: list[Array] = []
    for start in range(0, resamples, chunk):
        k = min(chunk, resamples - start)
        idx = rng.integers(0, n, size=(k, n))
        diffs.append(sign * (fn(yy[idx], cc[idx]) - fn(yy[idx], bb[idx])))
    values = np.concatenate(diffs)
    values = values[np.isfinite(values)]
    alpha = (1 - confidence) / 2
    if values.size == 0:
        low = high = float("nan")
    else:
        low, high = (float(v) for v in np.quantile(values, [alpha, 1 - alpha]))
    return BootstrapResult(cand, base, sign * (cand - base), low, high, int(values.size))
