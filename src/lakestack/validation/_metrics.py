"""Distribution distances and two-sample tests: pure functions on counts and samples.

Each matches its SciPy counterpart on the same input (see the docstrings) and raises
:class:`~lakestack.errors.DataValidationError` on input it cannot compare.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lakestack.errors import DataValidationError
from lakestack.validation._data import FloatArray

__all__ = [
    "PSI_EPSILON",
    "StatResult",
    "chi_square",
    "jensen_shannon",
    "ks_2samp",
    "ks_p_value",
    "psi",
]

#: Floor of a bin's share in :func:`psi`, so that an empty bin gives a finite value.
PSI_EPSILON = 1e-4
# scipy.stats.ks_2samp computes exact p-values up to this sample size ("auto" mode).
_KS_EXACT_MAX_N = 10_000


@dataclass(frozen=True, slots=True)
class StatResult:
    """A test statistic and its p-value."""

    statistic: float
    p_value: float


def psi(
    expected_counts: npt.ArrayLike, actual_counts: npt.ArrayLike, *, epsilon: float = PSI_EPSILON
) -> float:
    """Population stability index of ``actual`` against ``expected`` over the same bins.

    ``PSI = sum((a_i - e_i) * ln(a_i / e_i))`` where ``e_i`` and ``a_i`` are the bins' shares of
    each total, floored at ``epsilon`` (not renormalised) so that empty bins stay finite.
    Common reading: < 0.1 stable, 0.1-0.2 moderate shift, > 0.2 significant shift.

    Args:
        expected_counts: counts (or shares) per bin of the reference.
        actual_counts: counts (or shares) per bin of the current data.
        epsilon: floor of a share.

    Raises:
        DataValidationError: lengths differ, a count is negative or not finite, or a total is 0.

    Example:
        >>> round(psi([50, 50], [40, 60]), 4)
        0.0405
    """
    e, a = _pair(expected_counts, actual_counts, "psi", "expected_counts", "actual_counts")
    e = np.maximum(e / e.sum(), epsilon)
    a = np.maximum(a / a.sum(), epsilon)
    return float(np.sum((a - e) * np.log(a / e)))


def jensen_shannon(p: npt.ArrayLike, q: npt.ArrayLike, *, base: float = 2.0) -> float:
    """Jensen-Shannon distance between two distributions over the same bins.

    The square root of the Jensen-Shannon divergence, as
    ``scipy.spatial.distance.jensenshannon(p, q, base)``; inputs are normalised to sum to 1.
    With the default base 2 it lies in [0, 1]. Empty bins need no smoothing.

    Raises:
        DataValidationError: lengths differ, a value is negative or not finite, or a total is 0.

    Example:
        >>> jensen_shannon([1, 0], [0, 1])
        1.0
    """
    p_, q_ = _pair(p, q, "jensen_shannon", "p", "q")
    if base <= 0 or base == 1:
        raise DataValidationError(f"jensen_shannon: base must be positive and not 1, got {base}")
    p_ = p_ / p_.sum()
    q_ = q_ / q_.sum()
    m = (p_ + q_) / 2.0
    divergence = (_kl(p_, m) + _kl(q_, m)) / (2.0 * math.log(base))
    return math.sqrt(max(divergence, 0.0))


def ks_2samp(a: npt.ArrayLike, b: npt.ArrayLike) -> StatResult:
    """Two-sample Kolmogorov-Smirnov test (two-sided), as ``scipy.stats.ks_2samp``.

    The statistic is the largest distance between the two empirical CDFs. The p-value is exact
    when both samples have at most 10,000 values and Smirnov's asymptotic distribution
    (``scipy.stats.kstwo`` with ``n = round(n1 * n2 / (n1 + n2))``) otherwise, the same choice
    SciPy's default ``method="auto"`` makes. Nulls and NaN are dropped first.

    Raises:
        DataValidationError: a sample is not numeric, or empty after dropping NaN.

    Example:
        >>> ks_2samp([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).statistic
        0.0
    """
    x = np.sort(_sample(a, "a"))
    y = np.sort(_sample(b, "b"))
    if max(x.size, y.size) <= _KS_EXACT_MAX_N:
        # The exact null distribution is a lattice-path recursion that SciPy already
        # implements in compiled code; re-deriving it here would only add risk.
        from scipy import stats

        with warnings.catch_warnings():
            # SciPy warns when its exact recursion rounds past 1 and falls back to the
            # asymptotic p-value; the fallback is the answer we want, the warning is noise.
            warnings.simplefilter("ignore", RuntimeWarning)
            result: Any = stats.ks_2samp(x, y)
        return StatResult(statistic=float(result.statistic), p_value=float(result.pvalue))
    points = np.concatenate((x, y))
    cdf_x = np.searchsorted(x, points, side="right") / x.size
    cdf_y = np.searchsorted(y, points, side="right") / y.size
    d = float(np.max(np.abs(cdf_x - cdf_y)))
    return StatResult(statistic=d, p_value=ks_p_value(d, x.size, y.size, exact_n=True))


def ks_p_value(d: float, n1: int, n2: int, *, exact_n: bool = False) -> float:
    """Asymptotic two-sided p-value of a two-sample KS statistic ``d``.

    Args:
        d: the KS statistic.
        n1: size of the first sample.
        n2: size of the second sample.
        exact_n: use the finite-n distribution ``kstwo(round(en))`` as SciPy does (imports
            ``scipy.stats``, slow to import); otherwise the limiting Kolmogorov distribution
            ``P(K > sqrt(en) * d)``, which is within 1e-2 of it from en = 5,000.
    """
    en = n1 * n2 / (n1 + n2)
    if exact_n:
        from scipy import stats

        p = float(stats.kstwo.sf(d, round(en)))
    else:
        from scipy import special

        p = float(special.kolmogorov(math.sqrt(en) * d))
    return min(max(p, 0.0), 1.0)


def chi_square(
    expected_counts: npt.ArrayLike, actual_counts: npt.ArrayLike, *, correction: bool = False
) -> StatResult:
    """Chi-square test that two samples of categories come from the same distribution.

    The test of homogeneity on the 2 x k table of counts, as
    ``scipy.stats.chi2_contingency([expected_counts, actual_counts], correction=correction)``.
    Both rows are samples: the reference is not taken as the truth, so a category absent from
    one side is fine. Categories absent from both are dropped; with fewer than two categories
    left the result is statistic 0, p-value 1.

    Args:
        expected_counts: reference counts per category.
        actual_counts: current counts per category.
        correction: Yates' continuity correction when there are exactly two categories.

    Raises:
        DataValidationError: lengths differ, a count is negative or not finite, or a total is 0.

    Example:
        >>> round(chi_square([50, 50], [50, 50]).p_value, 6)
        1.0
    """
    e, a = _pair(expected_counts, actual_counts, "chi_square", "expected_counts", "actual_counts")
    table = np.vstack((e, a))
    table = table[:, table.sum(axis=0) > 0]
    dof = table.shape[1] - 1
    if dof < 1:
        return StatResult(statistic=0.0, p_value=1.0)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    observed = table
    if correction and dof == 1:
        diff = expected - observed
        observed = observed + np.sign(diff) * np.minimum(0.5, np.abs(diff))
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    from scipy import special

    return StatResult(statistic=statistic, p_value=float(special.chdtrc(dof, statistic)))


def _kl(p: FloatArray, m: FloatArray) -> float:
    # 0 * log(0 / m) is 0 by convention; masking avoids log(0) and its RuntimeWarning.
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / m[mask])))


def _pair(
    first: npt.ArrayLike, second: npt.ArrayLike, fn: str, first_name: str, second_name: str
) -> tuple[FloatArray, FloatArray]:
    x = _counts(first, fn, first_name)
    y = _counts(second, fn, second_name)
    if x.size != y.size:
        raise DataValidationError(
            f"{fn}: {first_name} has {x.size} bins but {second_name} has {y.size}; "
            "count both over the same bins"
        )
    return x, y


def _counts(values: npt.ArrayLike, fn: str, name: str) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise DataValidationError(
            f"{fn}: {name} must be a non-empty 1-D sequence of counts, got shape {arr.shape}"
        )
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise DataValidationError(
            f"{fn}: {name} holds a negative or non-finite count; pass counts or shares >= 0"
        )
    if arr.sum() <= 0:
        raise DataValidationError(f"{fn}: {name} sums to 0; there is nothing to compare")
    return arr


def _sample(values: npt.ArrayLike, name: str) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(
            f"ks_2samp: sample {name} is not numeric ({exc}); pass numbers"
        ) from exc
    arr = arr.ravel()
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        raise DataValidationError(f"ks_2samp: sample {name} is empty (after dropping NaN)")
    return arr
