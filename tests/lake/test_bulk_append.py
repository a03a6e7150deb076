"""Large appends on a local lake: the file written by pyarrow, the commit by deltalake; the
table reads, skips and records exactly as with deltalake's own writer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from lakestack.lake import Lake

ROWS = 70_000  # over the bulk threshold


def rows(start: int, n: int = ROWS) -> pa.Table:
    rng = np.random.default_rng(start)
    return pa.table(
        {
            "id": np.arange(start, start + n),
            "score": rng.normal(size=n) + start,
            "group": pa.array(["a", "b"] * (n // 2)),
            "flag": pa.array([i % 3 == 0 for i in range(n)]),
            "maybe": pa.array([None if i % 5 == 0 else float(i) for i in range(n)]),
        }
    )


def timed_rows(start: int, n: int = ROWS) -> pa.Table:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=start)
    times = pa.array([at + timedelta(seconds=i) for i in range(n)])
    return rows(start, n).append_column("at", times)


def writers(lake: Lake, table: str) -> list[str]:
    """The `created_by` of each data file the table's latest version lists."""
    found = []
    for uri in DeltaTable(lake.path(table)).file_uris():
        found.append(pq.ParquetFile(uri.removeprefix("file://")).metadata.created_by)
    return found


def stats(lake: Lake, table: str) -> list[dict[str, object]]:
    log = Path(lake.path(table)) / "_delta_log"
    found = []
    for commit in sorted(log.glob("*.json")):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                found.append(json.loads(action["add"]["stats"]))
    return found


def test_a_large_append_is_read_back_skipped_and_recorded_as_any_other(lake: Lake) -> None:
    first = rows(0, 10)
    lake.append("silver.big", first)  # a small write creates the table (deltalake's writer)
    second = rows(1_000_000)
    version = lake.with_context(task="bulk").append("silver.big", second, transaction=("scorer", 7))
    assert version == 1
    made = writers(lake, "silver.big")
    assert sorted(w.split(" ")[0] for w in made) == ["delta-rs", "parquet-cpp-arrow"]

    back = lake.read("silver.big").sort_by("id")
    assert back.equals(pa.concat_tables([first, second]).sort_by("id"))
    assert lake.read_polars("silver.big").height == 10 + ROWS

    # the statistics are the data's: a filter skips the first file and keeps every row it must
    big = lake.read("silver.big", filters=[("score", ">", 500_000.0)])
    assert big.num_rows == ROWS
    bulk = stats(lake, "silver.big")[-1]
    assert bulk["numRecords"] == ROWS
    assert bulk["minValues"] == {  # type: ignore[comparison-overlap]
        "id": 1_000_000,
        "score": pytest.approx(pc.min(second["score"]).as_py()),
        "maybe": 1.0,
        "flag": False,
        "group": "a",
    }
    assert bulk["maxValues"]["id"] == 1_000_000 + ROWS - 1  # type: ignore[index]
    assert bulk["maxValues"]["group"] == "b"  # type: ignore[index]
    nulls = {"id": 0, "score": 0, "group": 0, "flag": 0, "maybe": ROWS // 5}
    assert bulk["nullCount"] == nulls
    for column, test, value, expected in [
        ("group", "==", "b", ROWS // 2 + 5),
        ("flag", "==", True, (ROWS + 2) // 3 + 4),
        ("maybe", "<", 10.0, 8 + 8),
    ]:
        assert lake.read("silver.big", filters=[(column, test, value)]).num_rows == expected

    # the commit carries the writer's context and the idempotent-write marker
    entry = lake.history("silver.big", limit=1)[0]
    assert entry.metadata["task"] == "bulk"
    assert lake.transaction_version("silver.big", "scorer") == 7


def test_concurrent_large_appends_all_land(lake: Lake) -> None:
    lake.append("silver.many", rows(0, 10))
    other = Lake(lake.root, environment=lake.environment)
    versions = [lake.append("silver.many", rows(10)), other.append("silver.many", rows(10 + ROWS))]
    versions.append(lake.append("silver.many", rows(10 + 2 * ROWS)))
    assert versions == [1, 2, 3]
    ids = lake.read("silver.many", columns=["id"])["id"].to_numpy()
    assert sorted(ids.tolist()) == list(range(10 + 3 * ROWS))


@pytest.mark.parametrize("case", ["infinity", "timestamp", "long string"])
def test_a_column_without_exact_bounds_leaves_the_file_without_column_stats(
    lake: Lake, case: str
) -> None:
    """deltalake's reader drops a file from a filtered read when the filtered column has no
    bounds while others do: such a file carries its row count alone, and every filter on any
    column still finds its rows."""
    table = f"silver.{case.replace(' ', '_')}"
    data = timed_rows(100) if case == "timestamp" else rows(100)
    lake.append(table, data.slice(0, 10))
    if case == "infinity":
        scores = data["score"].to_numpy().copy()
        scores[5] = np.inf
        data = data.set_column(1, "score", pa.array(scores))
    if case == "long string":
        data = data.set_column(2, "group", pa.array(["x" * 40] * data.num_rows))
    lake.append(table, data)
    assert stats(lake, table)[-1] == {"numRecords": ROWS}
    assert lake.read(table, filters=[("score", ">", 1e308)]).num_rows == (case == "infinity")
    assert lake.read(table, filters=[("id", ">=", 100 + 10)]).num_rows == ROWS - 10
    if case == "timestamp":
        late = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=100, seconds=ROWS - 5)
        assert lake.read(table, filters=[("at", ">=", late)]).num_rows == 5


def test_a_schema_change_or_a_small_append_keeps_deltalakes_writer(lake: Lake) -> None:
    lake.append("silver.evolve", rows(0, 10))
    lake.append("silver.evolve", rows(10).append_column("extra", pa.array(np.zeros(ROWS))))
    lake.append("silver.evolve", rows(10 + ROWS, 100))
    assert not [w for w in writers(lake, "silver.evolve") if w.startswith("parquet-cpp-arrow")]
    assert lake.read("silver.evolve").num_rows == 10 + ROWS + 100
