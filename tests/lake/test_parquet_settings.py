"""How lakestack's writes encode Parquet: no dictionary for mostly distinct numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lakestack.lake import Lake


def encodings(lake: Lake, table: str) -> dict[str, tuple[str, set[str]]]:
    """(compression, encodings) of each column of the table's data files."""
    found: dict[str, tuple[str, set[str]]] = {}
    for path in Path(lake.path(table)).rglob("*.parquet"):
        meta = pq.ParquetFile(path).metadata
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                column = meta.row_group(g).column(c)
                kind, seen = found.get(column.path_in_schema, (column.compression, set()))
                found[column.path_in_schema] = (kind, seen | set(column.encodings))
    return found


def test_mostly_distinct_numbers_skip_the_dictionary_and_the_rest_keep_it(lake: Lake) -> None:
    n = 20_000
    rng = np.random.default_rng(0)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    data = pa.table(
        {
            "feature": rng.normal(size=n),
            "id": np.arange(n),
            "at": pa.array([start + timedelta(seconds=i) for i in range(n)]),
            "flag": rng.integers(0, 3, n).astype(np.float64),
            "month": rng.integers(1, 13, n),
            "name": pa.array(["a", "b"] * (n // 2)),
        }
    )
    lake.append("gold.wide", data)
    found = encodings(lake, "gold.wide")
    for column in ("feature", "id", "at"):
        assert "RLE_DICTIONARY" not in found[column][1], (column, found[column])
    for column in ("flag", "month", "name"):
        assert "RLE_DICTIONARY" in found[column][1], (column, found[column])
    assert {kind for kind, _ in found.values()} == {"SNAPPY"}  # as without settings
    assert lake.read("gold.wide").equals(data.cast(lake.schema("gold.wide")))
    lake.append("gold.small", data.slice(0, 100))  # a small write keeps the defaults
    assert "RLE_DICTIONARY" in encodings(lake, "gold.small")["feature"][1]
