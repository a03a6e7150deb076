"""The low-level drift measures against SciPy on the same input, and their bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from lakestack.errors import DataValidationError
from lakestack.validation import PSI_EPSILON, chi_square, jensen_shannon, ks_2samp, psi

DETERMINISTIC = settings(derandomize=True, database=None, deadline=None, max_examples=40)
counts = st.lists(st.integers(0, 1000), min_size=1, max_size=30)


def _pairs(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    size = draw(st.integers(1, 30))
    first = draw(st.lists(st.integers(0, 1000), min_size=size, max_size=size))
    second = draw(st.lists(st.integers(0, 1000), min_size=size, max_size=size))
    first[draw(st.integers(0, size - 1))] += 1
    second[draw(st.integers(0, size - 1))] += 1
    return first, second


count_pairs = st.composite(_pairs)()


def test_psi_matches_its_formula() -> None:
    expected = np.array([10.0, 20.0, 30.0, 40.0])
    actual = np.array([25.0, 25.0, 25.0, 25.0])
    e, a = expected / expected.sum(), actual / actual.sum()
    assert psi(expected, actual) == pytest.approx(np.sum((a - e) * np.log(a / e)), abs=1e-12)


def test_psi_floors_empty_bins_at_epsilon() -> None:
    value = psi([1, 0], [0, 1])
    floor = PSI_EPSILON
    assert value == pytest.approx(2 * (1 - floor) * math.log(1 / floor), rel=1e-12)
    assert math.isfinite(psi([1, 0], [1, 0], epsilon=1e-12))


@DETERMINISTIC
@given(count_pairs)
def test_psi_is_non_negative_and_zero_on_itself(pair: tuple[list[int], list[int]]) -> None:
    first, second = pair
    assert psi(first, second) >= 0.0
    assert psi(first, first) == pytest.approx(0.0, abs=1e-12)


@DETERMINISTIC
@given(count_pairs, st.sampled_from([2.0, math.e, 10.0]))
def test_jensen_shannon_matches_scipy(pair: tuple[list[int], list[int]], base: float) -> None:
    p, q = pair
    ours = jensen_shannon(p, q, base=base)
    theirs = float(distance.jensenshannon(p, q, base=base))
    assert ours == pytest.approx(theirs, abs=1e-6)
    assert ours == pytest.approx(jensen_shannon(q, p, base=base), abs=1e-12)


def test_jensen_shannon_is_bounded_in_base_2() -> None:
    assert jensen_shannon([5, 0, 0], [0, 0, 7]) == pytest.approx(1.0)
    assert jensen_shannon([3, 1], [6, 2]) == pytest.approx(0.0, abs=1e-7)


@DETERMINISTIC
@given(count_pairs, st.booleans())
def test_chi_square_matches_chi2_contingency(
    pair: tuple[list[int], list[int]], correction: bool
) -> None:
    reference, current = pair
    ours = chi_square(reference, current, correction=correction)
    table = np.array([reference, current])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        assert (ours.statistic, ours.p_value) == (0.0, 1.0)
        return
    theirs = stats.chi2_contingency(table, correction=correction)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9, abs=1e-6)
    assert ours.p_value == pytest.approx(theirs.pvalue, abs=1e-6)


def test_chi_square_ignores_categories_absent_from_both() -> None:
    assert chi_square([10, 0, 5], [12, 0, 3]) == chi_square([10, 5], [12, 3])


@pytest.mark.parametrize(
    ("n1", "n2", "shift"),
    [(50, 80, 0.3), (200, 200, 0.0), (3_000, 7_000, 0.05), (20_000, 15_000, 0.02)],
)
def test_ks_2samp_matches_scipy(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n1 + n2)
    a = rng.normal(0, 1, n1)
    b = rng.normal(shift, 1, n2)
    ours = ks_2samp(a, b)
    theirs = stats.ks_2samp(a, b)
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-6)
    assert ours.p_value == pytest.approx(theirs.pvalue, abs=1e-6)


def test_ks_2samp_with_ties_on_large_samples_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 20, 30_000).astype(float)
    b = rng.integers(0, 21, 25_000).astype(float)
    ours, theirs = ks_2samp(a, b), stats.ks_2samp(a, b)
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-6)
    assert ours.p_value == pytest.approx(theirs.pvalue, abs=1e-6)


@DETERMINISTIC
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40),
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40),
)
def test_ks_2samp_property(a: list[float], b: list[float]) -> None:
    ours = ks_2samp(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # SciPy's exact-to-asymptotic fallback
        theirs = stats.ks_2samp(a, b)
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-6)
    assert ours.p_value == pytest.approx(theirs.pvalue, abs=1e-6)


def test_ks_2samp_drops_nan() -> None:
    assert ks_2samp([1.0, math.nan, 2.0], [1.0, 2.0]).statistic == 0.0


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: psi([1, 2, 3], [1, 2]), "expected_counts has 3 bins but actual_counts has 2"),
        (lambda: jensen_shannon([1, 2], [1, 2, 3]), "p has 2 bins but q has 3"),
        (lambda: chi_square([1, -1], [1, 1]), "expected_counts holds a negative"),
        (lambda: psi([0, 0], [1, 1]), "expected_counts sums to 0"),
        (lambda: psi([], []), "non-empty"),
        (lambda: jensen_shannon([1], [1], base=1.0), "base"),
        (lambda: ks_2samp([], [1.0]), "sample a is empty"),
        (lambda: ks_2samp([1.0], [math.nan]), "sample b is empty"),
        (lambda: ks_2samp(["x"], [1.0]), "sample a is not numeric"),
    ],
)
def test_bad_input_names_the_argument(call: object, words: str) -> None:
    with pytest.raises(DataValidationError, match=words):
        call()  # type: ignore[operator]
