"""Every lake operation, through the public `Lake` API, on Delta tables on disk."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import polars as pl
import pyarrow as pa
import pytest

from lakestack.errors import (
    LakeError,
    SchemaEvolutionError,
    TableExistsError,
    TableNameError,
    TableNotFoundError,
)
from lakestack.lake import Lake, TableEvent, TableName, TableRef, WriteContext


def test_create_with_schema_then_append(lake: Lake) -> None:
    schema = pa.schema([("id", pa.int64()), ("name", pa.string())])
    assert lake.create("bronze.people", schema, description="people") == 0
    assert lake.schema("bronze.people") == schema
    assert lake.read("bronze.people").num_rows == 0
    assert lake.append("bronze.people", {"id": [1, 2], "name": ["a", "b"]}) == 1
    assert lake.read("bronze.people").to_pydict() == {"id": [1, 2], "name": ["a", "b"]}
    assert lake.info("bronze.people").description == "people"
    with pytest.raises(TableExistsError, match="bronze.people already exists"):
        lake.create("bronze.people", schema)
    assert lake.create("bronze.people", schema, exist_ok=True) == 1


def test_append_accepts_polars_pandas_and_arrow(lake: Lake) -> None:
    import pandas as pd

    lake.append("bronze.t", pl.DataFrame({"x": [1]}))
    lake.append("bronze.t", pd.DataFrame({"x": [2]}))
    lake.append("bronze.t", pa.table({"x": [3]}))
    assert sorted(lake.read("bronze.t").column("x").to_pylist()) == [1, 2, 3]
    with pytest.raises(LakeError, match="cannot use a int as data for bronze.t"):
        lake.append("bronze.t", 5)


def test_overwrite_replaces_rows_and_keeps_history(lake: Lake) -> None:
    lake.append("silver.t", {"x": [1, 2, 3]})
    assert lake.overwrite("silver.t", {"x": [9]}) == 1
    assert lake.read("silver.t").column("x").to_pylist() == [9]
    assert lake.read("silver.t", version=0).num_rows == 3


def test_overwrite_with_predicate_replaces_matching_rows_only(lake: Lake) -> None:
    lake.append("silver.t", {"month": [1, 1, 2], "v": [1, 2, 3]})
    lake.overwrite("silver.t", {"month": [1], "v": [10]}, predicate="month = 1")
    rows = sorted(lake.read("silver.t").to_pylist(), key=lambda r: r["v"])
    assert rows == [{"month": 2, "v": 3}, {"month": 1, "v": 10}]


def test_merge_upserts_by_keys(lake: Lake) -> None:
    lake.append("gold.t", {"k1": [1, 1, 2], "k2": ["a", "b", "a"], "v": [1.0, 2.0, 3.0]})
    lake.merge("gold.t", {"k1": [1, 3], "k2": ["b", "z"], "v": [20.0, 30.0]}, keys=["k1", "k2"])
    rows = {(r["k1"], r["k2"]): r["v"] for r in lake.read("gold.t").to_pylist()}
    assert rows == {(1, "a"): 1.0, (1, "b"): 20.0, (2, "a"): 3.0, (3, "z"): 30.0}


def test_merge_creates_missing_table_and_can_delete_unmatched(lake: Lake) -> None:
    lake.merge("gold.t", {"k": [1, 2], "v": [1, 2]}, keys=["k"])
    lake.merge("gold.t", {"k": [2], "v": [5]}, keys=["k"], delete_unmatched=True)
    assert lake.read("gold.t").to_pylist() == [{"k": 2, "v": 5}]


def test_merge_refuses_repeated_keys_and_missing_key_columns(lake: Lake) -> None:
    lake.append("gold.t", {"k": [1], "v": [1]})
    with pytest.raises(LakeError, match=r"repeats some values of the keys \(k\)"):
        lake.merge("gold.t", {"k": [2, 2], "v": [1, 2]}, keys=["k"])
    with pytest.raises(LakeError, match="key column.*nope.*not in the data"):
        lake.merge("gold.t", {"k": [2], "v": [1]}, keys=["nope"])
    assert lake.version("gold.t") == 0


def test_delete_by_predicate(lake: Lake) -> None:
    lake.append("silver.t", {"x": list(range(10))})
    version = lake.delete("silver.t", "x >= 5")
    assert version == 1
    assert sorted(lake.read("silver.t").column("x").to_pylist()) == [0, 1, 2, 3, 4]
    with pytest.raises(LakeError, match="predicate 'nope >'"):
        lake.delete("silver.t", "nope >")


def test_read_columns_filters_and_limit(lake: Lake) -> None:
    lake.append("silver.t", {"a": [1, 2, 3, 4], "b": ["w", "x", "y", "z"]})
    got = lake.read("silver.t", columns=["b"], filters=[("a", ">", 2)])
    assert got.schema.names == ["b"]
    assert sorted(got.column("b").to_pylist()) == ["y", "z"]
    frame = lake.read_polars("silver.t", filters=[("b", "in", ["w", "z"])])
    assert isinstance(frame, pl.DataFrame)
    assert sorted(frame["a"].to_list()) == [1, 4]
    assert lake.read("silver.t", limit=2).num_rows == 2
    with pytest.raises(LakeError, match="has no column.*nope.*its columns: a, b"):
        lake.read("silver.t", columns=["nope"])


def test_read_polars_without_filters_is_the_arrow_read(lake: Lake) -> None:
    """Polars' own scan (no filters, no limit) gives `read`'s frame: partitions, a column added
    later (null in older files), a timestamp with a zone, columns in the asked order, a version."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    first = {"day": ["a", "b"], "n": [1, 2], "ts": [at, at + timedelta(hours=1)]}
    lake.append("silver.p", pa.table(first), partition_by=["day"])
    lake.append("silver.p", {"day": ["a"], "n": [3], "ts": [at], "extra": [0.5]})
    lake.append("silver.p", {"day": ["c"], "n": [4], "ts": [at]})
    lake.create("silver.empty", pa.schema([("k", pa.string()), ("v", pa.float64())]))
    for name, kwargs in [
        ("silver.p", {}),
        ("silver.p", {"columns": ["extra", "n"]}),
        ("silver.p", {"version": 0}),
        ("silver.p@1", {}),
        ("silver.empty", {}),
    ]:
        expected = pl.from_arrow(lake.read(name, **kwargs))
        got = lake.read_polars(name, **kwargs)
        assert isinstance(expected, pl.DataFrame)
        assert got.schema == expected.schema
        assert got.sort(got.columns).equals(expected.sort(expected.columns)), (name, kwargs)
    assert lake.read_polars("silver.p")["extra"].null_count() == 3
    with pytest.raises(LakeError, match="has no column.*nope"):
        lake.read_polars("silver.p", columns=["nope"])


def test_time_travel_by_version_ref_and_timestamp(lake: Lake) -> None:
    lake.append("silver.t", {"x": [1]})
    lake.append("silver.t", {"x": [2]})
    lake.append("silver.t", {"x": [3]})
    assert lake.read("silver.t", version=1).num_rows == 2
    assert lake.read("silver.t@0").num_rows == 1
    assert lake.read(TableRef.parse("silver.t@2")).num_rows == 3
    commits = {c.version: c.timestamp for c in lake.history("silver.t")}
    # a commit's time as history shows it reads that commit (Delta's own travel goes by file
    # times, a little later under load); a naive moment is UTC; before the first, a clear error
    assert lake.read("silver.t", as_of=commits[1]).num_rows == 2
    assert lake.read("silver.t", as_of=commits[2].replace(tzinfo=None)).num_rows == 3
    assert lake.read(f"silver.t@{commits[0].isoformat()}").num_rows == 1
    with pytest.raises(LakeError, match="has no version at .*its first commit is at"):
        lake.read("silver.t", as_of=commits[0] - timedelta(seconds=1))
    with pytest.raises(LakeError, match="is not a moment"):
        lake.read("silver.t", as_of="yesterday")
    with pytest.raises(LakeError, match="has no version at 9"):
        lake.read("silver.t", version=9)


def test_history_records_commit_metadata(lake: Lake) -> None:
    writer = lake.with_context(run_id="run-42", job="ingest", task="load", principal="ci-bot")
    writer.append("bronze.t", {"x": [1, 2]})
    lake.append("bronze.t", {"x": [3]})
    newest, oldest = lake.history("bronze.t")
    assert oldest.version == 0
    assert oldest.rows_added == 2
    assert oldest.metadata["run_id"] == "run-42"
    assert oldest.metadata["job"] == "ingest"
    assert oldest.metadata["task"] == "load"
    assert oldest.metadata["principal"] == "ci-bot"
    assert oldest.metadata["environment"] == "dev"
    assert oldest.metadata["operation"] == "append"
    assert oldest.writer == "ci-bot (ingest/load)"
    assert "run_id" not in newest.metadata
    assert newest.timestamp >= oldest.timestamp
    assert newest.timestamp.tzinfo is UTC


def test_history_records_code_version(tmp_path: object) -> None:
    import subprocess
    from pathlib import Path

    repo = Path(str(tmp_path)) / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "code.py").write_text("x = 1\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "c"], cwd=repo, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    from lakestack.lake import code_version

    clean = code_version(repo)
    (repo / "code.py").write_text("x = 2\n")
    code_version.cache_clear()
    dirty = code_version(repo)
    assert (clean.commit, clean.dirty) == (head, False)
    assert (dirty.commit, dirty.dirty) == (head, True)
    lake = Lake(repo / "lake", context=WriteContext(environment="dev", code_version=dirty))
    lake.append("bronze.t", {"x": [1]})
    meta = lake.history("bronze.t")[0].metadata
    assert meta["git_commit"] == head
    assert meta["git_dirty"] == "true"


def test_additive_schema_evolution_and_safe_widening(lake: Lake) -> None:
    lake.append("silver.t", pa.table({"id": pa.array([1], pa.int64()), "v": [1.0]}))
    lake.append("silver.t", pa.table({"id": pa.array([2], pa.int32()), "v": [2.0], "new": ["n"]}))
    lake.append("silver.t", pa.table({"id": pa.array([3], pa.int64())}))
    schema = lake.schema("silver.t")
    assert schema.names == ["id", "v", "new"]
    assert schema.field("id").type == pa.int64()
    rows = sorted(lake.read("silver.t").to_pylist(), key=lambda r: r["id"])
    assert rows == [
        {"id": 1, "v": 1.0, "new": None},
        {"id": 2, "v": 2.0, "new": "n"},
        {"id": 3, "v": None, "new": None},
    ]


def test_incompatible_type_change_is_refused_and_nothing_written(lake: Lake) -> None:
    lake.append("silver.t", {"id": [1], "delay": [1.5]})
    with pytest.raises(SchemaEvolutionError) as info:
        lake.append("silver.t", {"id": [2], "delay": ["late"]})
    message = str(info.value)
    assert "silver.t" in message and "'delay'" in message
    assert "double in the table but string in the new data" in message
    with pytest.raises(SchemaEvolutionError, match="'id' is int64 in the table but string"):
        lake.merge("silver.t", {"id": ["x"]}, keys=["id"])
    assert lake.version("silver.t") == 0
    assert lake.read("silver.t").num_rows == 1
    lake.overwrite("silver.t", {"id": [3], "delay": ["late"]}, replace_schema=True)
    assert lake.schema("silver.t").field("delay").type == pa.string()


@pytest.mark.parametrize(
    "name", ["flights", "a.b.c", "Silver.flights", "silver.", ".x", "1x.y", "s.t-x"]
)
def test_invalid_names_are_refused_before_writing(lake: Lake, name: str) -> None:
    with pytest.raises(TableNameError, match="invalid table name"):
        lake.append(name, {"x": [1]})
    assert lake.tables() == []


def test_table_name_and_ref_parsing() -> None:
    assert str(TableName.parse("silver.flights")) == "silver.flights"
    ref = TableRef.parse("silver.flights@2013-07-01T00:00:00+00:00")
    assert ref.as_of == datetime(2013, 7, 1, tzinfo=UTC)
    assert TableRef.parse("gold.x@12").version == 12
    with pytest.raises(TableNameError, match="invalid pin 'yesterday'"):
        TableRef.parse("gold.x@yesterday")


def test_missing_table_names_the_table(lake: Lake) -> None:
    with pytest.raises(TableNotFoundError, match="silver.none does not exist in the 'dev' lake"):
        lake.read("silver.none")
    assert not lake.exists("silver.none")


def test_catalog_lists_schema_rows_version_and_writer(lake: Lake) -> None:
    lake.with_context(job="ingest", task="a").append("bronze.a", {"x": [1, 2, 3]})
    lake.append("silver.b", {"y": ["q"]})
    lake.append("silver.b", {"y": ["r"]})
    infos = {info.name: info for info in lake.catalog()}
    assert set(infos) == {"bronze.a", "silver.b"}
    assert (infos["bronze.a"].rows, infos["bronze.a"].version) == (3, 0)
    assert (infos["silver.b"].rows, infos["silver.b"].version) == (2, 1)
    assert infos["bronze.a"].columns == [("x", "int64")]
    assert infos["bronze.a"].last_commit is not None
    assert infos["bronze.a"].last_commit.writer.endswith("(ingest/a)")
    assert [i.name for i in lake.catalog("silver")] == ["silver.b"]
    assert infos["silver.b"].to_dict()["columns"] == [{"name": "y", "type": "string"}]


def test_catalog_follows_every_write_and_a_table_written_anew(lake: Lake) -> None:
    """The catalog keeps tables open between calls: each call still sees the latest commit,
    by this lake or another `Lake` object, and a table deleted and created again is new."""
    lake.append("bronze.t", {"x": [1]})
    assert (lake.info("bronze.t").version, lake.info("bronze.t").rows) == (0, 1)
    other = Lake(lake.root, environment=lake.environment)
    other.with_context(task="late").append("bronze.t", {"x": [2, 3]})
    seen = lake.info("bronze.t")
    assert (seen.version, seen.rows, seen.files) == (1, 3, 2)
    assert seen.last_commit is not None and seen.last_commit.metadata["task"] == "late"
    before = lake.version_key("bronze.t")
    assert before is not None and before[2] == 1
    other.overwrite("bronze.t", {"x": [9]})
    assert lake.version_key("bronze.t") == (before[0], before[1], 2)
    assert [i.rows for i in lake.catalog()] == [1]
    shutil.rmtree(lake.path("bronze.t"))
    assert lake.version_key("bronze.t") is None
    with pytest.raises(TableNotFoundError):
        lake.info("bronze.t")
    other.append("bronze.t", {"x": [4, 5, 6, 7]})
    again = lake.info("bronze.t")
    assert (again.version, again.rows) == (0, 4)
    key = lake.version_key("bronze.t")
    assert key is not None and key[1] != before[1]


def test_listeners_see_every_read_and_write_with_versions(lake: Lake) -> None:
    events: list[TableEvent] = []
    lake.add_listener(events.append)
    lake.append("bronze.t", {"x": [1]})
    lake.with_context(task="t").append("bronze.t", {"x": [2]})
    lake.read("bronze.t", version=0)
    lake.read_polars("bronze.t")
    lake.merge("bronze.t", {"x": [3]}, keys=["x"])
    got = [(e.kind, e.table, e.version, e.operation) for e in events]
    assert got == [
        ("write", "bronze.t", 0, "append"),
        ("write", "bronze.t", 1, "append"),
        ("read", "bronze.t", 0, "read"),
        ("read", "bronze.t", 1, "read"),
        ("write", "bronze.t", 2, "merge"),
    ]
