"""Model metrics of every problem type agree with scikit-learn, in bootstraps too."""

from __future__ import annotations

import numpy as np
import pytest

from lakestack.errors import RegistryError
from lakestack.metric_catalog import MODEL_METRICS
from lakestack.registry import METRICS, bootstrap_difference, metric


def _multiclass(seed: int = 0, n: int = 400, c: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    logits = rng.normal(size=(n, c)) + 1.5 * np.eye(c)[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, p


def test_multiclass_metrics_match_scikit_learn() -> None:
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    y, p = _multiclass()
    assert metric("accuracy", y, p) == pytest.approx(accuracy_score(y, p.argmax(axis=1)))
    assert metric("f1_macro", y, p) == pytest.approx(f1_score(y, p.argmax(axis=1), average="macro"))
    assert metric("log_loss", y, p) == pytest.approx(log_loss(y, p))
    assert metric("roc_auc_ovr", y, p) == pytest.approx(
        roc_auc_score(y, p, multi_class="ovr", average="macro")
    )


def test_regression_metrics_match_scikit_learn() -> None:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    rng = np.random.default_rng(1)
    y = rng.normal(100, 20, 300)
    s = y + rng.normal(0, 5, 300)
    assert metric("rmse", y, s) == pytest.approx(np.sqrt(mean_squared_error(y, s)))
    assert metric("mae", y, s) == pytest.approx(mean_absolute_error(y, s))
    assert metric("r2", y, s) == pytest.approx(r2_score(y, s))


def test_a_metric_refuses_scores_of_another_problem() -> None:
    y, p = _multiclass()
    with pytest.raises(RegistryError, match="'roc_auc' does not fit class probabilities"):
        metric("roc_auc", y, p)
    with pytest.raises(RegistryError, match="'f1_macro' needs one probability per class"):
        metric("f1_macro", y, p[:, 0])
    assert set(METRICS) == {m for ms in MODEL_METRICS.values() for m in ms}


def test_a_multiclass_bootstrap_is_paired_and_seeded() -> None:
    y, good = _multiclass(0)
    worse = 0.5 * good + 0.5 / good.shape[1]  # the same ranking, less confident
    result = bootstrap_difference("log_loss", y, good, worse, resamples=100, seed=3)
    assert result == bootstrap_difference("log_loss", y, good, worse, resamples=100, seed=3)
    assert result.improvement > 0 and result.low > 0  # lower log loss is better
    auc = bootstrap_difference("roc_auc_ovr", y, good, worse, resamples=100, seed=3)
    assert auc.improvement == pytest.approx(0.0, abs=1e-12)  # AUC only sees the ranking
