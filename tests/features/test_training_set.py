"""Point-in-time training sets equal a brute-force reference, by hand and by hypothesis."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakestack.features import FeatureLookup, FeatureSpec, FeatureStore, _asof
from lakestack.features._training_set import join_point_in_time

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def reference(
    labels: Sequence[Mapping[str, Any]],
    features: Sequence[Mapping[str, Any]],
    key_map: Mapping[str, str],
    label_time: str | None,
    feature_time: str | None,
    max_age: Any = None,
) -> list[int]:
    """For each label, the index of the feature row a point-in-time join must pick, or -1.

    The latest row with equal, non-null keys and event time <= the label's time (and not older
    than max_age); among rows with the same keys and time, the last one.
    """
    out = []
    for label in labels:
        best, best_time = -1, None
        for i, row in enumerate(features):
            if any(label[lc] is None or label[lc] != row[fc] for lc, fc in key_map.items()):
                continue
            if feature_time is not None and label_time is not None:
                t, ft = label[label_time], row[feature_time]
                if t is None or ft is None or ft > t:
                    continue
                if max_age is not None and t - ft > max_age:
                    continue
                if best_time is None or ft >= best_time:
                    best, best_time = i, ft
            else:
                best = i
        out.append(best)
    return out


# -- hand-built cases through Delta -----------------------------------------------------------


@pytest.fixture
def weather_store(store: FeatureStore) -> FeatureStore:
    store.create_feature_table(
        "features.weather",
        data=pl.DataFrame(
            {
                "origin": ["JFK", "JFK", "JFK", "LGA"],
                "ts": [h(0), h(1), h(2), h(0)],
                "temp": [0.0, 1.0, 2.0, 10.0],
                "wind": [5, None, 7, 8],
            }
        ),
        primary_keys=["origin"],
        timestamp_key="ts",
    )
    store.create_feature_table(
        "features.planes",
        data={"tailnum": ["N1", "N2"], "seats": [100, 200]},
        primary_keys=["tailnum"],
    )
    return store


def test_latest_row_at_or_before_the_label(weather_store: FeatureStore) -> None:
    labels = pl.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "origin": ["JFK", "JFK", "JFK", "LGA", None, "EWR"],
            "t": [h(1), h(1.5), h(-1), h(5), h(1), h(1)],
        }
    )
    result = weather_store.build_training_set(
        labels, [FeatureLookup("features.weather", "origin", timestamp_lookup_key="t")]
    )
    data = result.to_polars()
    assert data.columns == ["id", "origin", "t", "temp", "wind"]
    # tie (label time == event time) is included; never a later row; nulls stay nulls
    assert data.get_column("temp").to_list() == [1.0, 1.0, None, 10.0, None, None]
    assert data.get_column("wind").to_list() == [None, None, None, 8, None, None]
    assert data.get_column("id").to_list() == [1, 2, 3, 4, 5, 6]  # labels keep their order
    # the worked example of docs/features.md, with a maximum age of one hour
    young = weather_store.build_training_set(
        labels,
        [
            FeatureLookup(
                "features.weather", "origin", timestamp_lookup_key="t", max_age=timedelta(hours=1)
            )
        ],
    )
    assert young.to_polars().get_column("temp").to_list() == [1.0, 1.0, None, None, None, None]
    assert result.table_versions == {
        "features.weather": weather_store.lake.version("features.weather")
    }


def test_late_rows_and_max_age(weather_store: FeatureStore) -> None:
    labels = pl.DataFrame({"origin": ["JFK", "JFK", "LGA"], "t": [h(0.5), h(3.5), h(3)]})
    lookup = FeatureLookup(
        "features.weather", "origin", timestamp_lookup_key="t", max_age=timedelta(hours=1)
    )
    before = weather_store.build_training_set(labels, [lookup]).to_polars()
    assert before.get_column("temp").to_list() == [0.0, None, None]  # 1.5 h and 3 h old
    # A late row: written after the training set above, with an older event time.
    weather_store.write("features.weather", {"origin": ["JFK"], "ts": [h(3)], "temp": [3.0]})
    after = weather_store.build_training_set(labels, [lookup])
    assert after.to_polars().get_column("temp").to_list() == [0.0, 3.0, None]
    # Pinned to the versions read the first time, the old training set comes back.
    pinned = weather_store.build_training_set(labels, after.spec.pinned_lookups())
    assert pinned.to_polars().get_column("temp").to_list() == [0.0, 3.0, None]
    at_first = FeatureLookup(
        f"features.weather@{after.table_versions['features.weather'] - 1}",
        "origin",
        timestamp_lookup_key="t",
        max_age=timedelta(hours=1),
    )
    again = weather_store.build_training_set(labels, [at_first]).to_polars()
    assert again.get_column("temp").to_list() == [0.0, None, None]


def test_several_lookups_keys_and_renames(store: FeatureStore) -> None:
    store.create_feature_table(
        "features.routes",
        data=pl.DataFrame(
            {
                "origin": ["JFK", "JFK", "LGA", "JFK"],
                "dest": ["LAX", "LAX", "LAX", "SFO"],
                "as_of": [h(0), h(2), h(0), h(0)],
                "delay": [1.0, 2.0, 3.0, 4.0],
            }
        ),
        primary_keys=["origin", "dest"],
        timestamp_key="as_of",
    )
    store.create_feature_table(
        "features.planes",
        data={"tailnum": ["N1", "N2"], "seats": [100, 200]},
        primary_keys=["tailnum"],
    )
    labels = pl.DataFrame(
        {
            "from": ["JFK", "JFK", "LGA", "LGA"],
            "to": ["LAX", "SFO", "LAX", "SFO"],
            "tail": ["N2", None, "N1", "N9"],
            "t": [h(3), h(3), h(3), h(3)],
            "delay": [9.0, 9.0, 9.0, 9.0],
        }
    )
    result = store.build_training_set(
        labels,
        [
            FeatureLookup(
                "features.routes",
                {"to": "dest", "from": "origin"},
                rename={"delay": "route_delay"},
                timestamp_lookup_key="t",
            ),
            FeatureLookup("features.planes", ["tail"], timestamp_lookup_key="t"),
        ],
    )
    data = result.to_polars()
    assert data.get_column("route_delay").to_list() == [2.0, 4.0, 3.0, None]
    assert data.get_column("seats").to_list() == [200, None, 100, None]
    spec = FeatureSpec.from_json(result.spec.to_json())
    assert spec == result.spec
    assert spec.feature_columns == ["route_delay", "seats"]
    assert spec.key_columns == ["from", "to", "tail"]


# -- the kernel against the reference on generated data ---------------------------------------

KEYS = st.one_of(st.none(), st.sampled_from(["a", "b", "c"]))
INT_KEYS = st.one_of(st.none(), st.integers(-2, 2))


@st.composite
def cases(draw: st.DrawFn, wide: int = 10**12) -> dict[str, Any]:
    two_keys = draw(st.booleans())
    scale = wide if draw(st.booleans()) else 1  # times months apart, or microseconds apart
    times = st.one_of(st.none(), st.integers(0, 12).map(lambda x: x * scale))

    def rows(n: int, nullable: bool) -> list[dict[str, Any]]:
        out = []
        for _ in range(n):
            row = {"k1": draw(KEYS if nullable else KEYS.filter(lambda v: v is not None))}
            if two_keys:
                row["k2"] = draw(INT_KEYS)
            row["t"] = draw(times)
            out.append(row)
        return out

    return {
        "features": rows(draw(st.integers(0, 25)), nullable=True),
        "labels": rows(draw(st.integers(1, 25)), nullable=True),
        "two_keys": two_keys,
        "max_age": draw(st.one_of(st.none(), st.integers(0, 4).map(lambda x: x * scale))),
        "static": draw(st.booleans()),
    }


def _frame(rows: list[dict[str, Any]], two_keys: bool) -> pl.DataFrame:
    schema = {"k1": pl.String, "k2": pl.Int64, "t": pl.Int64}
    if not two_keys:
        schema.pop("k2")
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.with_columns(pl.from_epoch("t", time_unit="us").dt.replace_time_zone("UTC"))


def check_kernel(case: dict[str, Any]) -> None:
    keys = {"k1": "k1", "k2": "k2"} if case["two_keys"] else {"k1": "k1"}
    labels = _frame(case["labels"], case["two_keys"])
    features = _frame(case["features"], case["two_keys"])
    max_age = None if case["max_age"] is None else timedelta(microseconds=case["max_age"])
    rows = join_point_in_time(
        labels,
        features,
        key_map=keys,
        timestamp_key=None if case["static"] else "t",
        timestamp_lookup_key=None if case["static"] else "t",
        max_age=max_age,
    )
    expected = reference(
        labels.to_dicts(),
        features.to_dicts(),
        keys,
        None if case["static"] else "t",
        None if case["static"] else "t",
        max_age,
    )
    assert rows.tolist() == expected


@settings(max_examples=300, deadline=None)
@given(cases())
def test_kernel_matches_reference(case: dict[str, Any]) -> None:
    check_kernel(case)


@pytest.mark.parametrize(("bits", "range_limit"), [(5, 1 << 40), (3, 2), (8, 1 << 40)])
@settings(max_examples=100, deadline=None)
@given(case=cases())
def test_kernel_compressed_paths_match_reference(
    bits: int, range_limit: int, case: dict[str, Any]
) -> None:
    """Keys and times that do not fit one int64 code: the times go into buckets (all of a key's
    rows in one bucket at 3 bits; several at 5 and 8), sparse keys by their ranks; same
    answers."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_asof, "_BITS", bits)
        patch.setattr(_asof, "_RANGE_LIMIT", range_limit)
        check_kernel(case)


@pytest.mark.parametrize("bits", [3, 6, 9, 12])
def test_time_buckets_equal_exact_codes_on_crowded_buckets(bits: int) -> None:
    """Many rows per key and bucket (repeated times included): the bucketed codes settle each
    label within its bucket exactly as exact codes do."""
    rng = np.random.default_rng(bits)

    def side(n: int, late_start: int) -> tuple[pl.Series, pl.Series]:
        keys = rng.integers(0, 6, n)
        times = rng.integers(0, 2000, n) + np.where(keys == 0, late_start, 0)
        return pl.Series("k", keys), pl.Series("t", times).cast(pl.Datetime("us"))

    fk, ft = side(20_000, late_start=100)  # key 0 (the first bucket) starts later
    lk, lt = side(5_000, late_start=0)
    exact = _asof.match_rows([lk], [fk], lt, ft, 300)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_asof, "_BITS", bits)
        bucketed = _asof.match_rows([lk], [fk], lt, ft, 300)
    assert (exact >= 0).sum() > 4_000
    assert bucketed.tolist() == exact.tolist()


_tables = itertools.count()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cases())
def test_build_training_set_matches_reference(store: FeatureStore, case: dict[str, Any]) -> None:
    """The same property end to end: Delta table, lookup, gathered values."""
    keys = ["k1", "k2"] if case["two_keys"] else ["k1"]
    features = (
        _frame(case["features"], case["two_keys"])
        .drop_nulls()
        .unique([*keys, "t"], keep="first", maintain_order=True)
        .with_row_index("value")
    )
    labels = _frame(case["labels"], case["two_keys"]).with_row_index("label")
    name = f"features.t{next(_tables)}"
    store.create_feature_table(
        name,
        schema=features.to_arrow().schema,
        primary_keys=keys,
        timestamp_key="t",
    )
    store.write(name, features)
    max_age = None if case["max_age"] is None else timedelta(microseconds=case["max_age"])
    lookup = FeatureLookup(name, keys, timestamp_lookup_key="t", max_age=max_age)
    got = store.build_training_set(labels, [lookup]).to_polars()
    stored = store.read(name).to_dicts()
    index = reference(
        labels.to_dicts(), stored, dict(zip(keys, keys, strict=True)), "t", "t", max_age
    )
    assert got.get_column("label").to_list() == list(range(labels.height))
    assert got.get_column("value").to_list() == [
        stored[i]["value"] if i >= 0 else None for i in index
    ]
