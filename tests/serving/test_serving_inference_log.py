"""The inference log: spooled before the answer, appended in batches, replayed exactly once."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from _serving_kit import LOG_SCHEMA, log_record

from _kit.loops import wait_until
from lakestack.lake import Lake
from lakestack.serving import InferenceLog, inference_table
from lakestack.serving._inference_rows import inference_rows


def _started(lake: Lake, root: Path, ids: Iterable[int] = ()) -> InferenceLog:
    """A started log of the endpoint `ep` (flushed on demand only) that recorded `ids`."""
    log = InferenceLog(lake, "ep", root, schema=LOG_SCHEMA, interval_s=3600)
    log.start()
    for i in ids:
        log.record(log_record(i))
    return log


def test_records_land_typed_and_close_removes_the_spool(lake: Lake, tmp_path: Path) -> None:
    log = _started(lake, tmp_path / "spool", range(3))
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
    dead = _started(lake, root, range(10))
    dead.flush()  # appended and checkpointed
    for i in range(10, 15):
        dead.record(log_record(i))
    # appended to Delta, then "killed" before the checkpoint moved
    lake.append(
        inference_table("ep"),
        inference_rows([log_record(i) for i in range(10, 13)], "ep", dead._types),
    )
    _die(dead)
    fresh = _started(lake, root)  # replays in the background; closing waits for it
    fresh.close()
    assert fresh.replayed == 5
    ids = [r["request_id"] for r in lake.read(inference_table("ep")).to_pylist()]
    assert sorted(ids) == [f"r{i:04d}" for i in range(15)]
    assert list(root.iterdir()) == []


def test_a_live_process_spool_is_not_replayed(lake: Lake, tmp_path: Path) -> None:
    root = tmp_path / "spool"
    alive = _started(lake, root, [1])
    other = _started(lake, root)
    other.close()
    assert other.replayed == 0
    alive.close()
    assert [r["request_id"] for r in lake.read(inference_table("ep")).to_pylist()] == ["r0001"]


def test_mixed_records_keep_their_columns_row_by_row(lake: Lake, tmp_path: Path) -> None:
    """Records with other columns, several rows, or none (errors) line up in the table."""
    log = InferenceLog(lake, "mix", tmp_path / "spool", schema=LOG_SCHEMA, interval_s=3600)
    log.start()
    log.record(log_record(0))
    log.record({**log_record(1), "columns": ["b", "z"], "rows": [[7, "x"], [8, "y"]]})
    log.record({**log_record(2), "status": 422, "error": "bad", "columns": None, "rows": None})
    log.record({**log_record(3), "rows": [[3.0, 3], [4.0, 4]], "outputs": [0.1]})
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


def _rejected(lake: Lake, endpoint: str = "ep") -> list[dict[str, object]]:
    name = inference_table(endpoint) + "_rejected"
    return lake.read(name).to_pylist() if lake.exists(name) else []


def test_a_record_that_cannot_be_written_is_set_aside_and_blocks_nothing(
    lake: Lake, tmp_path: Path
) -> None:
    """A record whose data does not fit its column (here one spooled by an older version)
    goes, intact and with its reason, to `inference.<endpoint>_rejected`; the others land."""
    log = _started(lake, tmp_path / "spool")
    log.record(log_record(0))
    poisoned = {**log_record(1), "rows": [["not a number", 1]]}
    log.record(poisoned)
    log.record(log_record(2))
    log.close()
    ids = [r["request_id"] for r in lake.read(inference_table("ep")).to_pylist()]
    assert sorted(ids) == ["r0000", "r0002"]
    (rejected,) = _rejected(lake)
    assert rejected["request_id"] == "r0001" and "'a'" in str(rejected["reason"])
    assert json.loads(str(rejected["record"])) == poisoned
    assert log.rejected == 1
    assert list((tmp_path / "spool").iterdir()) == []


def _break_storage(lake: Lake) -> Path:
    """Make every write to the `inference` schema fail: its folder is a file."""
    folder = Path(lake.root) / "inference"
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("not a folder")
    return folder


def test_a_storage_outage_is_retried_with_backoff_in_order(lake: Lake, tmp_path: Path) -> None:
    log = InferenceLog(lake, "ep", tmp_path / "spool", schema=LOG_SCHEMA, interval_s=0.05)
    log.retry_max_s = 0.2
    broken = _break_storage(lake)
    log.start()
    for i in range(5):
        log.record(log_record(i))
    wait_until(lambda: log.error is not None and log.failures >= 2, timeout=60)
    assert log.backlog == 5 and log.rejected == 0  # nothing dropped, nothing set aside
    broken.unlink()
    wait_until(lambda: log.backlog == 0 and log.error is None, timeout=60)
    log.close()
    ids = [r["request_id"] for r in lake.read(inference_table("ep")).to_pylist()]
    assert ids == [f"r{i:04d}" for i in range(5)]
    assert _rejected(lake) == []


def test_a_replay_that_fails_at_start_is_retried_in_the_background(
    lake: Lake, tmp_path: Path
) -> None:
    root = tmp_path / "spool"
    dead = _started(lake, root, range(3))
    _die(dead)
    broken = _break_storage(lake)
    fresh = InferenceLog(lake, "ep", root, schema=LOG_SCHEMA, interval_s=0.05)
    fresh.retry_max_s = 0.2
    fresh.start()  # returns although the replay cannot be written
    fresh.record(log_record(3))
    wait_until(lambda: fresh.error is not None and "replay" in str(fresh.error), timeout=60)
    broken.unlink()
    wait_until(lambda: fresh.backlog == 0 and fresh.replayed == 3, timeout=60)
    fresh.close()
    ids = sorted(r["request_id"] for r in lake.read(inference_table("ep")).to_pylist())
    assert ids == [f"r{i:04d}" for i in range(4)]
    assert list(root.iterdir()) == []


def test_a_poisoned_spool_is_replayed_around_its_bad_record(lake: Lake, tmp_path: Path) -> None:
    root = tmp_path / "spool"
    dead = _started(lake, root)
    dead.record(log_record(0))
    dead.record({**log_record(1), "rows": [[1.0, "twelve"]]})
    dead.record(log_record(2))
    _die(dead)
    fresh = _started(lake, root)
    fresh.close()
    ids = sorted(r["request_id"] for r in lake.read(inference_table("ep")).to_pylist())
    assert ids == ["r0000", "r0002"]
    assert [r["request_id"] for r in _rejected(lake)] == ["r0001"]
    assert "'b'" in str(_rejected(lake)[0]["reason"])


def _die(log: InferenceLog) -> None:
    """What the kernel does when the process dies: its spool's files and lock are closed, and
    its rows process, at EOF, exits.

    Its writer, done with its start (its own replay), then waits an hour and is never woken.
    It is not told to stop: a writer that saw the stop before it began to wait would run one
    more round, replay its own spool (unlocked now) and race the next process's replay.
    """
    wait_until(lambda: not log.replay_pending, timeout=60)
    spool = log._spool
    assert spool is not None
    os.close(spool._fd)
    os.close(spool._lock_fd)
    log._spool = None
    log._rows.close()


def test_the_table_compacts_itself_every_n_appends(lake: Lake, tmp_path: Path) -> None:
    log = InferenceLog(
        lake, "ep", tmp_path / "spool", schema=LOG_SCHEMA, interval_s=3600, optimize_every=4
    )
    log.start()
    for i in range(9):
        log.record(log_record(i))
        log.flush()  # one append each: a busy endpoint's many small commits
    log.close()
    operations = [c.operation for c in reversed(lake.history(inference_table("ep")))]
    assert operations.count("OPTIMIZE") == 2, operations
    assert operations.index("OPTIMIZE") == 4  # after the fourth append
    table = lake.open(inference_table("ep"))
    assert len(table.file_uris()) <= 2  # 9 appends, 2 compactions: 1 file, then 1 appended
    ids = sorted(r["request_id"] for r in lake.read(inference_table("ep")).to_pylist())
    assert ids == [f"r{i:04d}" for i in range(9)]


def test_a_flush_appends_what_was_queued_and_leaves_later_records_for_the_next_round(
    lake: Lake, tmp_path: Path
) -> None:
    """Records that arrive while an append runs wait for the next round instead of making
    the writer append again at once (on a busy endpoint: commits back to back)."""
    log = _started(lake, tmp_path / "spool", range(5))
    arrivals = iter(range(5, 10))

    def record_during_the_append(event: object) -> None:
        for i in arrivals:  # once: the first append brings five more records
            log.record(log_record(i))

    lake.add_listener(record_during_the_append)
    assert log.flush() == 5
    assert lake.read(inference_table("ep")).num_rows == 5
    assert log.flush() == 5
    assert lake.read(inference_table("ep")).num_rows == 10
    assert log.flush() == 0
    log.close()
    assert lake.version(inference_table("ep")) == 1  # two appends: versions 0 and 1
