"""validate: each anomaly kind, severities, options, and raising on the caller's request."""

from __future__ import annotations

import polars as pl
import pytest

from lakestack.errors import DataValidationError
from lakestack.validation import (
    Anomaly,
    AnomalyKind,
    Schema,
    Severity,
    ValidationOptions,
    infer_schema,
    validate,
)


@pytest.fixture(scope="module")
def baseline(frame: pl.DataFrame) -> Schema:
    return infer_schema(frame)


def only(anomalies: tuple[Anomaly, ...], kind: AnomalyKind) -> Anomaly:
    found = [a for a in anomalies if a.kind is kind]
    assert len(found) == 1, anomalies
    return found[0]


def test_clean_data_has_no_anomalies(frame: pl.DataFrame, baseline: Schema) -> None:
    report = validate(frame, baseline)
    assert report.anomalies == ()
    assert report.passed
    assert report.raise_for_errors() is report
    assert report.columns_checked == tuple(frame.columns)


def test_missing_column_fails(frame: pl.DataFrame, baseline: Schema) -> None:
    report = validate(frame.drop("city"), baseline)
    anomaly = only(report.anomalies, AnomalyKind.MISSING_COLUMN)
    assert (anomaly.column, anomaly.severity) == ("city", Severity.FAIL)
    assert "'city'" in anomaly.message and "missing" in anomaly.message
    assert not report.passed


def test_unexpected_column_warns_or_is_ignored(frame: pl.DataFrame, baseline: Schema) -> None:
    extra = frame.with_columns(pl.lit(1.5).alias("score"))
    anomaly = only(validate(extra, baseline).anomalies, AnomalyKind.UNEXPECTED_COLUMN)
    assert (anomaly.column, anomaly.severity) == ("score", Severity.WARN)
    ignored = ValidationOptions(unexpected_column_severity=None)
    assert validate(extra, baseline, options=ignored).anomalies == ()
    strict = ValidationOptions(unexpected_column_severity=Severity.FAIL)
    assert not validate(extra, baseline, options=strict).passed


def test_type_mismatch(frame: pl.DataFrame, baseline: Schema) -> None:
    as_text = validate(frame.with_columns(pl.col("age").cast(pl.String)), baseline)
    anomaly = only(as_text.anomalies, AnomalyKind.TYPE_MISMATCH)
    assert anomaly.severity is Severity.FAIL
    assert "'age'" in anomaly.message
    assert anomaly.expected == "integer (int64)" and anomaly.found.startswith("categorical")
    # A type FAIL skips the column's value checks.
    assert len(as_text.anomalies) == 1

    as_float = validate(frame.with_columns(pl.col("age").cast(pl.Float32)), baseline)
    widened = only(as_float.anomalies, AnomalyKind.TYPE_MISMATCH)
    assert widened.severity is Severity.WARN
    assert as_float.passed


def test_out_of_range_warns_then_fails(frame: pl.DataFrame, baseline: Schema) -> None:
    ages = frame["age"].to_list()
    few = frame.with_columns(pl.Series("age", [200] * 10 + ages[10:]))
    anomaly = only(validate(few, baseline).anomalies, AnomalyKind.OUT_OF_RANGE)
    assert anomaly.severity is Severity.WARN
    assert (anomaly.count, anomaly.fraction) == (10, 10 / frame.height)
    assert "[18, 89]" in anomaly.expected and "200" in anomaly.found
    assert "'age'" in anomaly.message

    many = frame.with_columns(pl.Series("age", [-5] * 100 + ages[100:]))
    assert only(validate(many, baseline).anomalies, AnomalyKind.OUT_OF_RANGE).severity is (
        Severity.FAIL
    )
    tolerant = ValidationOptions(range_tolerance=0.5)
    assert validate(many, baseline, options=tolerant).anomalies == ()


def test_a_single_value_past_the_extremes_is_not_reported(
    frame: pl.DataFrame, baseline: Schema
) -> None:
    one = frame.with_columns(pl.Series("age", [90, *frame["age"].to_list()[1:]]))
    assert validate(one, baseline).anomalies == ()
    picky = ValidationOptions(out_of_range_warn=0.0)
    assert only(validate(one, baseline, options=picky).anomalies, AnomalyKind.OUT_OF_RANGE)


def test_unknown_category(frame: pl.DataFrame, baseline: Schema) -> None:
    cities = frame["city"].to_list()
    one = frame.with_columns(pl.Series("city", ["rome", *cities[1:]]))
    anomaly = only(validate(one, baseline).anomalies, AnomalyKind.UNKNOWN_CATEGORY)
    assert anomaly.severity is Severity.WARN
    assert anomaly.count == 1 and "'rome'" in anomaly.found and "'city'" in anomaly.message

    many = frame.with_columns(pl.Series("city", ["rome", "oslo"] * 50 + cities[100:]))
    anomaly = only(validate(many, baseline).anomalies, AnomalyKind.UNKNOWN_CATEGORY)
    assert anomaly.severity is Severity.FAIL
    assert anomaly.found == "'oslo', 'rome'"


def test_incomplete_domain_is_not_checked() -> None:
    baseline = infer_schema(pl.DataFrame({"id": [f"u{i}" for i in range(500)]}), max_domain=50)
    assert validate(pl.DataFrame({"id": ["new"] * 10}), baseline).anomalies == ()


def test_null_rate_jump(frame: pl.DataFrame, baseline: Schema) -> None:
    rows = frame.height
    city = frame["city"].to_list()
    some = frame.with_columns(pl.Series("city", [None] * 60 + city[60:]))
    anomaly = only(validate(some, baseline).anomalies, AnomalyKind.NULL_RATE)
    assert anomaly.severity is Severity.WARN
    assert anomaly.fraction == pytest.approx(60 / rows)

    lots = frame.with_columns(pl.Series("city", [None] * (rows // 2) + city[rows // 2 :]))
    assert only(validate(lots, baseline).anomalies, AnomalyKind.NULL_RATE).severity is (
        Severity.FAIL
    )

    # NaN counts as missing in float columns: income goes from about 5% to about 19%.
    income = frame["income"].to_list()
    nan = frame.with_columns(pl.Series("income", [float("nan")] * 300 + income[300:]))
    anomaly = only(validate(nan, baseline).anomalies, AnomalyKind.NULL_RATE)
    assert anomaly.column == "income" and anomaly.severity is Severity.FAIL


def test_any_null_in_a_never_null_column_warns(frame: pl.DataFrame, baseline: Schema) -> None:
    one = frame.with_columns(pl.Series("age", [None, *frame["age"].to_list()[1:]]))
    anomaly = only(validate(one, baseline).anomalies, AnomalyKind.NULL_RATE)
    assert anomaly.severity is Severity.WARN and anomaly.count == 1


def test_raise_for_errors_lists_the_failures(frame: pl.DataFrame, baseline: Schema) -> None:
    report = validate(frame.drop("city", "age"), baseline)
    assert [a.column for a in report.errors] == ["age", "city"]
    assert report.warnings == []
    with pytest.raises(DataValidationError, match="2 error.*'age'.*'city'"):
        report.raise_for_errors()


def test_columns_restricts_the_check(frame: pl.DataFrame, baseline: Schema) -> None:
    data = frame.select("age", "city").with_columns(pl.lit(1).alias("extra"))
    report = validate(data, baseline, columns=["age", "city"])
    assert report.anomalies == ()
    with pytest.raises(DataValidationError, match="'salary' is not in the schema"):
        validate(frame, baseline, columns=["salary"])


def test_empty_data_is_refused(frame: pl.DataFrame, baseline: Schema) -> None:
    with pytest.raises(DataValidationError, match="the data to validate has no rows"):
        validate(frame.head(0), baseline)


def test_arrow_input(frame: pl.DataFrame, baseline: Schema) -> None:
    assert validate(frame.to_arrow(), baseline).anomalies == ()
