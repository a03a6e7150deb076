"""The inference log: spooled before the answer, appended in batches, replayed exactly once."""

from __future__ import annotations

import os
import time
from pathlib import Path

from lakestack.lake import Lake
from lakestack.serving import InferenceLog, InputSchema, inference_table
from lakestack.serving._schema import Column


def _record(i: int) -> dict[str, object]:
    return {
        "id": f"r{i:04d}",
        "ts": time.time_ns() // 1000,
        "model": "m",
        "version": 1,
        "variant": "production",
        "status": 200,
        "latency_ms": 1.5,
        "error": None,
        "columns": ["a", "b"],
        "rows": [[float(i), i]],
        "outputs": [[0.25, 0.75]],
    }


SCHEMA = InputSchema((Column("a", "float", "float64"), Column("b", "int", "int64")))


def _log(lake: Lake, root: Path) -> InferenceLog:
    return InferenceLog(lake, "ep", root, schema=SCHEMA, interval_s=3600)


def test_records_land_typed_and_close_removes_the_spool(lake: Lake, tmp_path: Path) -> None:
    log = _log(lake, tmp_path / "spool")
    log.start()
    for i in range(3):
        log.record(_record(i))
    log.close()
    table = lake.read(inference_table("ep"))
    assert table.schema.field("a").type == "double" and table.schema.field("b").type == "int64"
    rows = table.to_pylist()
    assert [r["request_id"] for r in rows] == ["r0000", "r0001", "r0002"]
    assert rows[1]["prediction"] == 0.75 and rows[1]["output"] == "[0.25,0.75]"
    assert list((tmp_path / "spool").iterdir()) == []


def test_a_crash_after_append_before_checkpoint_is_replayed_once(
    lake: Lake, tmp_path: Path
) -> None:
    root = tmp_path / "spool"
    dead = _log(lake, root)
    dead.start()
    for i in range(10):
        dead.record(_record(i))
    dead.flush()  # appended and checkpointed
    for i in range(10, 15):
        dead.record(_record(i))
    # appended to Delta, then "killed" before the checkpoint moved
    lake.append(inference_table("ep"), dead._to_arrow([_record(i) for i in range(10, 13)]))
    spool = dead._spool
    assert spool is not None
    os.close(spool._fd)
    os.close(spool._lock_fd)  # what the kernel does when the process dies
    fresh = _log(lake, root)
    fresh.start()
    assert fresh.replayed == 5
    fresh.close()
    ids = [r["request_id"] for r in lake.read(inference_table("ep")).to_pylist()]
    assert sorted(ids) == [f"r{i:04d}" for i in range(15)]
    assert list(root.iterdir()) == []


def test_a_live_process_spool_is_not_replayed(lake: Lake, tmp_path: Path) -> None:
    root = tmp_path / "spool"
    alive = _log(lake, root)
    alive.start()
    alive.record(_record(1))
    other = _log(lake, root)
    other.start()
    assert other.replayed == 0
    other.close()
    alive.close()
    assert [r["request_id"] for r in lake.read(inference_table("ep")).to_pylist()] == ["r0001"]


def test_mixed_records_keep_their_columns_row_by_row(lake: Lake, tmp_path: Path) -> None:
    """Records with other columns, several rows, or none (errors) line up in the table."""
    log = InferenceLog(lake, "mix", tmp_path / "spool", schema=SCHEMA, interval_s=3600)
    log.start()
    log.record(_record(0))
    log.record({**_record(1), "columns": ["b", "z"], "rows": [[7, "x"], [8, "y"]]})
    log.record({**_record(2), "status": 422, "error": "bad", "columns": None, "rows": None})
    log.record({**_record(3), "rows": [[3.0, 3], [4.0, 4]], "outputs": [0.1]})
    log.close()
    rows = lake.read(inference_table("mix")).to_pylist()
    got = [
        (r["request_id"], r["row"], r["a"], r["b"], r["inputs_json"], r["status"], r["prediction"])
        for r in rows
    ]
    assert got == [
        ("r0000", 0, 0.0, 0, None, 200, 0.75),
        ("r0001", 0, None, 7, '{"z":"x"}', 200, 0.75),
        ("r0001", 1, None, 8, '{"z":"y"}', 200, None),
        ("r0002", 0, None, None, None, 422, 0.75),
        ("r0003", 0, 3.0, 3, None, 200, 0.1),
        ("r0003", 1, 4.0, 4, None, 200, None),
    ]
    assert [r["record_id"] for r in rows][:3] == [
        "r0000/production/0",
        "r0001/production/0",
        "r0001/production/1",
    ]
