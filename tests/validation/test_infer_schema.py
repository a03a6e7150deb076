"""infer_schema: types, statistics, the JSON round trip and bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakestack.errors import DataValidationError
from lakestack.validation import LogicalType, Schema, infer_schema

DETERMINISTIC = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_logical_types(frame: pl.DataFrame) -> None:
    schema = infer_schema(frame)
    types = {c.name: c.logical_type for c in schema.columns}
    assert types == {
        "age": LogicalType.INTEGER,
        "income": LogicalType.FLOAT,
        "month": LogicalType.INTEGER,
        "city": LogicalType.CATEGORICAL,
        "member": LogicalType.BOOLEAN,
        "seen_at": LogicalType.TIMESTAMP,
        "day": LogicalType.DATE,
    }
    assert schema.column("age").arrow_type == "int64"
    assert schema.column("seen_at").arrow_type == "timestamp[us]"
    assert schema.row_count == frame.height


def test_numeric_statistics_match_numpy(frame: pl.DataFrame) -> None:
    income = infer_schema(frame).column("income")
    values = frame["income"].to_numpy()
    finite = values[np.isfinite(values)]
    assert income.null_count == int(np.isnan(values).sum()) > 0
    assert income.count == finite.size
    assert income.null_fraction == pytest.approx(income.null_count / frame.height)
    assert income.nullable
    stats = income.numeric
    assert stats is not None
    assert (stats.min, stats.max) == (finite.min(), finite.max())
    assert stats.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert stats.std == pytest.approx(finite.std(), rel=1e-12)
    assert len(stats.percentiles) == 101
    for level, value in stats.quantiles.items():
        assert value == pytest.approx(np.quantile(finite, level), rel=1e-12)
    hist = stats.histogram
    assert not hist.discrete
    assert len(hist.counts) == 10
    assert sum(hist.counts) == income.count
    # Quantile bins hold about a tenth of the values each.
    assert max(hist.counts) - min(hist.counts) <= 2


def test_few_distinct_values_get_one_bin_each(frame: pl.DataFrame) -> None:
    month = infer_schema(frame).column("month").numeric
    assert month is not None
    assert month.histogram.discrete
    assert month.histogram.edges[:-1] == tuple(float(m) for m in range(1, 13))
    expected = frame["month"].value_counts().sort("month")["count"].to_list()
    assert list(month.histogram.counts) == expected


def test_constant_column_has_one_bin() -> None:
    stats = infer_schema(pl.DataFrame({"k": [7.0] * 50})).column("k").numeric
    assert stats is not None
    assert stats.histogram.edges == (7.0, 7.0)
    assert stats.histogram.counts == (50,)
    assert stats.std == 0.0


def test_categorical_domain_and_frequencies(frame: pl.DataFrame) -> None:
    city = infer_schema(frame).column("city").categorical
    assert city is not None
    counts = dict(frame["city"].value_counts().iter_rows())
    assert city.values == tuple(sorted(counts, key=lambda v: -counts[v]))
    assert city.counts == tuple(counts[v] for v in city.values)
    assert city.complete and city.other_count == 0
    assert sum(city.frequencies.values()) == pytest.approx(1.0)
    member = infer_schema(frame).column("member").categorical
    assert member is not None
    assert set(member.values) == {"true", "false"}


def test_domain_is_cut_to_top_k_with_other_bucket() -> None:
    values = [f"v{i:03d}" for i in range(300) for _ in range(1 + (i < 10) * 5)]
    col = infer_schema(pl.DataFrame({"id": values}), max_domain=100).column("id")
    stats = col.categorical
    assert stats is not None
    assert stats.distinct == 300
    assert len(stats.values) == 100
    assert stats.values[:10] == tuple(f"v{i:03d}" for i in range(10))
    assert stats.other_count == len(values) - sum(stats.counts) == 200
    assert not stats.complete


def test_temporal_range(frame: pl.DataFrame) -> None:
    schema = infer_schema(frame)
    seen = schema.column("seen_at").temporal
    day = schema.column("day").temporal
    assert seen is not None and day is not None
    assert seen.min == frame["seen_at"].min().isoformat()  # type: ignore[union-attr]
    assert day.max == frame["day"].max().isoformat()  # type: ignore[union-attr]


def test_all_null_column_has_no_statistics() -> None:
    schema = infer_schema(pl.DataFrame({"x": [None, None]}, schema={"x": pl.Float64}))
    col = schema.column("x")
    assert (col.count, col.null_count, col.numeric) == (0, 2, None)


def test_arrow_and_polars_inputs_agree(frame: pl.DataFrame) -> None:
    from_polars = infer_schema(frame)
    from_arrow = infer_schema(frame.to_arrow())
    for a, b in zip(from_polars.columns, from_arrow.columns, strict=True):
        assert (a.numeric, a.categorical, a.temporal) == (b.numeric, b.categorical, b.temporal)


def test_columns_argument_selects(frame: pl.DataFrame) -> None:
    assert infer_schema(frame, columns=["city", "age"]).names == ["city", "age"]


def test_json_round_trip_is_exact(frame: pl.DataFrame, tmp_path: Path) -> None:
    schema = infer_schema(frame)
    assert Schema.from_json(schema.to_json()) == schema
    path = schema.save(tmp_path / "schema.json")
    assert Schema.load(path) == schema
    # Small enough to store with every model version.
    assert len(schema.to_json()) / len(schema.columns) < 4_000


@DETERMINISTIC
@given(
    st.lists(
        st.floats(min_value=-1e300, max_value=1e300)
        | st.sampled_from([math.nan, math.inf, -math.inf])
        | st.none(),
        min_size=1,
        max_size=60,
    ),
    st.lists(st.sampled_from(["a", "b", "é", "x y", ""]) | st.none(), min_size=1, max_size=60),
)
def test_json_round_trip_property(numbers: list[float | None], labels: list[str | None]) -> None:
    rows = min(len(numbers), len(labels))
    data = pl.DataFrame(
        {"n": numbers[:rows], "c": labels[:rows]}, schema={"n": pl.Float64, "c": pl.String}
    )
    schema = infer_schema(data)
    assert Schema.from_json(schema.to_json()) == schema
    n = schema.column("n")
    finite = [v for v in numbers[:rows] if v is not None and math.isfinite(v)]
    assert n.count == len(finite)
    if n.numeric is not None:
        assert sum(n.numeric.histogram.counts) == n.count
        assert n.numeric.min == min(finite) and n.numeric.max == max(finite)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (pl.DataFrame({"a": []}, schema={"a": pl.Int64}), "no rows"),
        (pl.DataFrame(), "no columns"),
        ({"a": [1]}, "polars.DataFrame"),
    ],
)
def test_bad_input(data: object, words: str) -> None:
    with pytest.raises(DataValidationError, match=words):
        infer_schema(data)  # type: ignore[arg-type]


def test_unknown_column_is_named(frame: pl.DataFrame) -> None:
    with pytest.raises(DataValidationError, match="'salary'.*columns are"):
        infer_schema(frame, columns=["age", "salary"])


def test_bad_bins() -> None:
    with pytest.raises(DataValidationError, match="bins"):
        infer_schema(pl.DataFrame({"a": [1]}), bins=1)


def test_schema_lookup_names_the_column(frame: pl.DataFrame) -> None:
    with pytest.raises(DataValidationError, match="'nope'"):
        infer_schema(frame).column("nope")


def test_malformed_json_is_a_validation_error(frame: pl.DataFrame, tmp_path: Path) -> None:
    broken = infer_schema(frame).to_dict()
    del broken["columns"][1]["numeric"]["histogram"]
    with pytest.raises(DataValidationError, match="'income'"):
        Schema.from_dict(broken)
    with pytest.raises(DataValidationError, match="format_version"):
        Schema.from_json('{"columns": []}')
    with pytest.raises(DataValidationError, match="cannot read"):
        Schema.load(tmp_path / "missing.json")
