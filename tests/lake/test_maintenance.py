"""`Lake.optimize` and `Lake.vacuum` on Delta tables on disk, alone and beside a live writer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lakestack.errors import EnvironmentAccessError, LakeError, TableNotFoundError
from lakestack.lake import Lake, TableEvent

WRITER = Path(__file__).with_name("_writer_process.py")


def _five_small_files(lake: Lake, name: str = "silver.t") -> None:
    for i in range(5):
        lake.append(name, {"x": [i], "y": [f"v{i}"]})


def test_optimize_compacts_into_one_commit_with_the_write_context(lake: Lake) -> None:
    _five_small_files(lake)
    events: list[TableEvent] = []
    lake.add_listener(events.append)
    result = lake.with_context(run_id="run-42", job="maintenance").optimize("silver.t")
    assert (result.files_removed, result.files_added, result.committed) == (5, 1, True)
    assert result.bytes_removed > 0 and result.bytes_added > 0
    assert result.version == 5 == lake.version("silver.t")
    assert lake.info("silver.t").files == 1
    assert sorted(lake.read("silver.t").column("x").to_pylist()) == [0, 1, 2, 3, 4]
    assert lake.read("silver.t@2").num_rows == 3  # old versions stay readable
    last = lake.history("silver.t", limit=1)[0]
    assert last.operation == "OPTIMIZE"
    assert last.metadata["operation"] == "optimize"
    assert (last.metadata["run_id"], last.metadata["job"]) == ("run-42", "maintenance")
    assert [e for e in events if e.kind == "write"] == [
        TableEvent("write", "dev", "silver.t", 5, "optimize")
    ]


def test_optimize_of_a_compact_table_makes_no_commit(lake: Lake) -> None:
    _five_small_files(lake)
    lake.optimize("silver.t")
    again = lake.optimize("silver.t")
    assert (again.committed, again.files_removed, again.version) == (False, 0, 5)
    assert lake.version("silver.t") == 5


def test_optimize_z_orders_by_existing_columns_only(lake: Lake) -> None:
    _five_small_files(lake)
    result = lake.optimize("silver.t", zorder_by=["x"])
    assert result.zorder_by == ("x",)
    assert result.files_removed == 5 and lake.info("silver.t").files == 1
    assert result.to_dict()["zorder_by"] == ["x"]
    with pytest.raises(LakeError, match=r"cannot Z-order by nope.*columns are x, y"):
        lake.optimize("silver.t", zorder_by=["x", "nope"])


def test_optimize_refuses_a_non_positive_target_size(lake: Lake) -> None:
    _five_small_files(lake)
    with pytest.raises(LakeError, match="target_size must be a positive number of bytes"):
        lake.optimize("silver.t", target_size=0)
    assert lake.version("silver.t") == 4


def test_vacuum_keeps_the_tables_retention_by_default(lake: Lake) -> None:
    _five_small_files(lake)
    lake.optimize("silver.t")
    result = lake.vacuum("silver.t")
    assert result.files == () and result.retain_hours is None
    assert lake.read("silver.t@0").num_rows == 1  # time travel still works


def test_vacuum_shorter_than_the_retention_needs_force(lake: Lake) -> None:
    _five_small_files(lake)
    lake.optimize("silver.t")
    with pytest.raises(LakeError, match=r"silver\.t.*retain_hours=0.*--force") as info:
        lake.vacuum("silver.t", retain_hours=0)
    assert "168" in str(info.value)
    assert lake.read("silver.t@0").num_rows == 1
    with pytest.raises(LakeError, match="retain_hours must be 0 or more, got -1"):
        lake.vacuum("silver.t", retain_hours=-1, force=True)


def test_vacuum_dry_run_lists_and_force_deletes_ending_time_travel(lake: Lake) -> None:
    _five_small_files(lake)
    lake.optimize("silver.t")
    dry = lake.vacuum("silver.t", retain_hours=0, force=True, dry_run=True)
    assert len(dry.files) == 5 and dry.dry_run
    assert dry.version == 5 and lake.read("silver.t@0").num_rows == 1
    events: list[TableEvent] = []
    lake.add_listener(events.append)
    done = lake.with_context(job="maintenance").vacuum("silver.t", retain_hours=0, force=True)
    assert done.files == dry.files
    assert done.version == lake.version("silver.t") > 5
    assert [e for e in events if e.kind == "write"] == [
        TableEvent("write", "dev", "silver.t", done.version, "vacuum")
    ]
    assert sorted(lake.read("silver.t").column("x").to_pylist()) == [0, 1, 2, 3, 4]
    with pytest.raises(LakeError):
        lake.read("silver.t@0")
    last = lake.history("silver.t", limit=1)[0]
    assert last.operation.startswith("VACUUM")
    assert (last.metadata["operation"], last.metadata["job"]) == ("vacuum", "maintenance")
    assert json.loads(json.dumps(done.to_dict()))["files"] == list(done.files)


def test_maintenance_of_a_missing_table_names_it(lake: Lake) -> None:
    with pytest.raises(TableNotFoundError, match=r"silver\.none does not exist"):
        lake.optimize("silver.none")
    with pytest.raises(TableNotFoundError, match=r"silver\.none does not exist"):
        lake.vacuum("silver.none")


def test_maintenance_of_another_environment_needs_a_write_grant(tmp_path: Path) -> None:
    from lakestack.config import load_project
    from lakestack.templates import scaffold

    scaffold("default", tmp_path / "p", name="p")
    project = load_project(tmp_path / "p")
    prod = Lake.for_environment(project, "prod")
    _five_small_files(prod, "gold.g")
    dev = Lake.for_environment(project, "dev")
    with pytest.raises(EnvironmentAccessError, match="may not write table gold.g"):
        dev.optimize("gold.g", environment="prod")
    with pytest.raises(EnvironmentAccessError, match="may not write table gold.g"):
        dev.vacuum("gold.g", environment="prod")
    assert prod.version("gold.g") == 4


def _live_appender(root: Path) -> subprocess.Popen[str]:
    """A table `bronze.events` with one row, and a process appending 60 times to it."""
    Lake(root).append("bronze.events", {"writer": [-1], "seq": [-1], "part": [-1]})
    return subprocess.Popen(
        [sys.executable, str(WRITER), "append", str(root), "0", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_optimize_beside_a_live_appender_loses_no_row(tmp_path: Path) -> None:
    writer = _live_appender(tmp_path)
    lake = Lake(tmp_path)
    compactions: list[int] = []
    while writer.poll() is None or not compactions:
        result = lake.optimize("bronze.events")
        if result.committed:
            compactions.append(result.version)
    out, err = writer.communicate(timeout=600)
    assert writer.returncode == 0, err[-3000:]
    assert json.loads(out.strip().splitlines()[-1]) == {"ok": 60, "conflicts": 0}
    rows = lake.read("bronze.events").to_pylist()
    landed = {(r["writer"], r["seq"], r["part"]) for r in rows if r["writer"] >= 0}
    assert len(rows) == 1 + 60 * 3
    assert landed == {(0, s, p) for s in range(60) for p in range(3)}
    optimized = [c.version for c in lake.history("bronze.events") if c.operation == "OPTIMIZE"]
    assert sorted(optimized) == compactions


@pytest.mark.slow
def test_history_beside_a_live_appender_numbers_every_commit_right(tmp_path: Path) -> None:
    writer = _live_appender(tmp_path)
    lake = Lake(tmp_path)
    reads = 0
    while writer.poll() is None or reads == 0:
        versions = [c.version for c in lake.history("bronze.events")]
        assert versions == list(range(len(versions) - 1, -1, -1))
        newest = lake.history("bronze.events", limit=2)
        assert len(newest) <= 2 and newest[0].version >= versions[0]
        info = lake.info("bronze.events")
        assert info.last_commit is not None and info.last_commit.version == info.version
        reads += 1
    writer.communicate(timeout=600)
    assert writer.returncode == 0
