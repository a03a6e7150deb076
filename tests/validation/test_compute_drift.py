"""compute_drift against stored statistics: detection, agreement with the exact measures."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from scipy import stats

from lakestack.errors import DataValidationError
from lakestack.validation import (
    DriftMethod,
    DriftThresholds,
    Schema,
    chi_square,
    compute_drift,
    jensen_shannon,
    ks_2samp,
    psi,
)

MakeFrame = Callable[..., pl.DataFrame]


def test_same_distribution_does_not_drift(baseline: Schema, make_frame: MakeFrame) -> None:
    report = compute_drift(make_frame(seed=1), baseline)
    assert report.drifted_columns == []
    assert [c.column for c in report.columns] == ["age", "income", "month", "city", "member"]
    assert all(c.method is DriftMethod.PSI for c in report.columns)


def test_shifted_columns_drift(baseline: Schema, make_frame: MakeFrame) -> None:
    report = compute_drift(make_frame(seed=1, shift=0.5), baseline)
    assert report.drifted_columns == ["income", "city"]
    assert report.share_drifted == pytest.approx(2 / 5)
    income = report.column("income")
    assert income.psi > 0.2 and income.statistic == income.psi and income.threshold == 0.2
    assert income.ks_p_value is not None and income.ks_p_value < 1e-6
    assert income.chi2_statistic is None
    city = report.column("city")
    assert city.ks_statistic is None and city.chi2_p_value is not None


def test_numeric_measures_equal_the_exact_functions_on_the_same_bins(
    frame: pl.DataFrame, baseline: Schema, make_frame: MakeFrame
) -> None:
    current = make_frame(seed=2, shift=0.2)
    result = compute_drift(current, baseline).column("income")
    stored = baseline.column("income").numeric
    assert stored is not None
    values = current["income"].to_numpy()
    values = values[np.isfinite(values)]
    inner = np.asarray(stored.histogram.edges[1:-1])
    counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=inner.size + 1)
    assert result.psi == pytest.approx(psi(stored.histogram.counts, counts), abs=1e-12)
    js = jensen_shannon(stored.histogram.counts, counts)
    assert result.jensen_shannon == pytest.approx(js, abs=1e-12)
    # The stored ECDF is 101 percentiles: the KS statistic is within one step of the exact one.
    reference = frame["income"].to_numpy()
    exact = ks_2samp(reference, values)
    assert result.ks_statistic == pytest.approx(exact.statistic, abs=0.011)


def test_ks_on_a_discrete_column_is_exact(
    frame: pl.DataFrame, baseline: Schema, make_frame: MakeFrame
) -> None:
    current = make_frame(rows=700, seed=3)
    current = current.with_columns(pl.col("month").clip(upper_bound=10))
    result = compute_drift(current, baseline).column("month")
    exact = stats.ks_2samp(frame["month"].to_numpy(), current["month"].to_numpy())
    assert result.ks_statistic == pytest.approx(exact.statistic, abs=1e-9)
    assert result.method is DriftMethod.KS  # fewer than 1,000 rows: a test decides
    assert result.statistic == result.ks_statistic
    assert result.p_value == result.ks_p_value
    assert result.drifted == (result.ks_p_value is not None and result.ks_p_value < 0.05)


def test_categorical_chi_square_matches_scipy_on_the_domain_counts(
    frame: pl.DataFrame, baseline: Schema
) -> None:
    current = pl.DataFrame({"city": ["paris"] * 300 + ["lyon"] * 250 + ["nice"] * 150})
    result = compute_drift(current, baseline, columns=["city"]).column("city")
    stored = baseline.column("city").categorical
    assert stored is not None
    observed = [current["city"].eq(v).sum() for v in stored.values]
    theirs = stats.chi2_contingency([list(stored.counts), observed], correction=False)
    assert result.chi2_statistic == pytest.approx(theirs.statistic, rel=1e-9)
    assert result.chi2_p_value == pytest.approx(theirs.pvalue, abs=1e-6)
    assert result.method is DriftMethod.CHI_SQUARE
    assert result.bins == stored.values
    ours = chi_square(stored.counts, observed)
    assert result.chi2_statistic == pytest.approx(ours.statistic, rel=1e-12)


def test_unseen_categories_fill_the_other_bin(baseline: Schema) -> None:
    current = pl.DataFrame({"city": ["paris", "rome", "rome", None]})
    result = compute_drift(current, baseline, columns="city").column("city")
    assert result.bins[-1] == "(other)"
    assert result.current[-1] == pytest.approx(2 / 3)
    assert result.reference[-1] == 0.0
    assert result.n_current == 3


def test_values_beyond_the_baseline_range_land_in_the_outer_bins(baseline: Schema) -> None:
    current = pl.DataFrame({"age": [-1000] * 10 + [1000] * 30})
    result = compute_drift(current, baseline, columns=["age"]).column("age")
    assert result.current[0] == pytest.approx(0.25)
    assert result.current[-1] == pytest.approx(0.75)
    assert result.drifted


def test_thresholds_choose_the_method(baseline: Schema, make_frame: MakeFrame) -> None:
    current = make_frame(seed=1, shift=0.5)
    thresholds = DriftThresholds(
        numeric_method=DriftMethod.JENSEN_SHANNON, categorical_method=DriftMethod.PSI
    )
    report = compute_drift(current, baseline, thresholds=thresholds)
    income = report.column("income")
    assert income.method is DriftMethod.JENSEN_SHANNON
    assert (income.statistic, income.threshold) == (income.jensen_shannon, 0.1)
    assert report.column("city").method is DriftMethod.PSI
    strict = compute_drift(current, baseline, thresholds=DriftThresholds(psi=1e-9))
    assert strict.drifted_columns == [c.column for c in strict.columns]


def test_impossible_methods_are_refused() -> None:
    with pytest.raises(DataValidationError, match="numeric_method"):
        DriftThresholds(numeric_method=DriftMethod.CHI_SQUARE)
    with pytest.raises(DataValidationError, match="categorical_method"):
        DriftThresholds(categorical_method=DriftMethod.KS)


def test_skipped_columns_say_why(baseline: Schema, frame: pl.DataFrame) -> None:
    current = frame.drop("member").with_columns(pl.col("age").cast(pl.String))
    report = compute_drift(current, baseline)
    assert report.skipped == {
        "age": "type changed from integer to categorical",
        "member": "missing from the current data",
        "seen_at": "no drift measure for timestamp columns",
        "day": "no drift measure for date columns",
    }
    with pytest.raises(DataValidationError, match="'member'.*missing from the current data"):
        report.column("member")


def test_all_null_current_column_is_skipped(baseline: Schema) -> None:
    current = pl.DataFrame({"income": [None, None]}, schema={"income": pl.Float64})
    assert compute_drift(current, baseline, columns=["income"]).skipped == {
        "income": "no values in the current data"
    }


def test_requested_columns_must_exist(baseline: Schema, frame: pl.DataFrame) -> None:
    with pytest.raises(DataValidationError, match="'salary' is not in the schema"):
        compute_drift(frame, baseline, columns=["salary"])
    with pytest.raises(DataValidationError, match="'city' is not in the current data"):
        compute_drift(frame.drop("city"), baseline, columns=["city"])
    with pytest.raises(DataValidationError, match="no rows"):
        compute_drift(frame.head(0), baseline)


def test_tables_have_one_row_per_column(baseline: Schema, make_frame: MakeFrame) -> None:
    report = compute_drift(make_frame(seed=1, shift=0.5).to_arrow(), baseline)
    table = report.to_arrow()
    assert isinstance(table, pa.Table)
    assert table.num_rows == len(report.columns)
    assert table.schema.field("p_value").type == pa.float64()
    frame = report.to_polars()
    assert frame["column"].to_list() == [c.column for c in report.columns]
    assert frame.filter(pl.col("drifted"))["column"].to_list() == report.drifted_columns
    assert frame["ks_statistic"].null_count() == 2  # the categorical columns
