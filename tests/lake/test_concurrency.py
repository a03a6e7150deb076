"""Writers never lose data: real processes writing to one table at the same time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lakestack.lake import Lake

WRITER = Path(__file__).with_name("_writer_process.py")


def _run_writers(mode: str, root: Path, count: int, writers: int = 2) -> list[dict[str, int]]:
    procs = [
        subprocess.Popen(
            [sys.executable, str(WRITER), mode, str(root), str(w), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(writers)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.slow
def test_two_processes_appending_100_times_keep_all_rows(tmp_path: Path) -> None:
    Lake(tmp_path).append("bronze.events", {"writer": [-1], "seq": [-1], "part": [-1]})
    _run_writers("append", tmp_path, 100)
    lake = Lake(tmp_path)
    rows = lake.read("bronze.events").to_pylist()
    landed = {(r["writer"], r["seq"], r["part"]) for r in rows if r["writer"] >= 0}
    assert len(rows) == 1 + 2 * 100 * 3
    assert landed == {(w, s, p) for w in range(2) for s in range(100) for p in range(3)}
    assert lake.version("bronze.events") == 200


@pytest.mark.slow
def test_concurrent_merges_are_retried_and_none_is_lost(tmp_path: Path) -> None:
    Lake(tmp_path).merge("gold.counts", {"k": [0, 1], "n": [0, 0], "who": ["", ""]}, keys=["k"])
    results = _run_writers("merge", tmp_path, 25)
    assert all(r == {"ok": 25, "conflicts": 0} for r in results)
    lake = Lake(tmp_path)
    merges = [c for c in lake.history("gold.counts") if c.operation == "MERGE"]
    assert len(merges) == 50
    final = {r["k"]: r["n"] for r in lake.read("gold.counts").to_pylist()}
    assert final == {0: 25, 1: 25}


@pytest.mark.slow
def test_merge_conflicts_without_retries_fail_loudly_never_silently(tmp_path: Path) -> None:
    Lake(tmp_path).merge("gold.counts", {"k": [0, 1], "n": [0, 0], "who": ["", ""]}, keys=["k"])
    results = _run_writers("merge-no-retry", tmp_path, 25)
    ok = sum(r["ok"] for r in results)
    conflicts = sum(r["conflicts"] for r in results)
    assert ok + conflicts == 50
    merges = [c for c in Lake(tmp_path).history("gold.counts") if c.operation == "MERGE"]
    # Every merge that reported success is committed; every other one raised.
    assert len(merges) == ok


def test_readers_in_threads_share_the_open_table_and_each_sees_one_version(
    tmp_path: Path,
) -> None:
    """Reads of a table's latest version share the table this process keeps open; while
    another process appends one row per commit, every read (Arrow or Polars, from four
    threads) holds exactly the rows of the version it reports to the listeners."""
    from concurrent.futures import ThreadPoolExecutor

    from lakestack.lake import TableEvent

    Lake(tmp_path).append("bronze.events", {"writer": [-1], "seq": [-1], "part": [-1]})
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), "append", str(tmp_path), "0", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[tuple[int, int]] = []

    def read(n: int) -> None:
        events: list[TableEvent] = []
        lake = Lake(tmp_path)
        lake.add_listener(events.append)
        rows = (
            lake.read("bronze.events").num_rows
            if n % 2
            else lake.read_polars("bronze.events").height
        )
        seen.append((events[-1].version, rows))

    with ThreadPoolExecutor(4) as pool:
        n = 0
        while writer.poll() is None:
            list(pool.map(read, range(n, n + 8)))
            n += 8
    _, err = writer.communicate()
    assert writer.returncode == 0, err[-3000:]
    lake = Lake(tmp_path)
    versions = [c.version for c in lake.history("bronze.events")]
    rows_at = {v: lake.read("bronze.events", version=v).num_rows for v in versions}
    assert len(seen) >= 8
    assert all(rows == rows_at[version] for version, rows in seen), seen
    assert max(v for v, _ in seen) <= max(rows_at)
