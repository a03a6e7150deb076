"""The inference log's rows process: the child that builds the table's rows off the serving
process's GIL. It may die or hang at any time without losing or doubling a record, a record's
data fails there as it would in the writer, and it does not outlive the serving process."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import httpx
from _serving_kit import LOG_SCHEMA, Served, log_record

from _kit.loops import wait_until
from lakestack.lake import Lake
from lakestack.serving import InferenceLog, ServerProcess, inference_table


def _rows_processes(pid: int) -> set[int]:
    """The live rows processes among the children of `pid` (of any of its threads)."""
    found = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except OSError:
            continue
        found |= {int(child) for child in children if _is_rows_process(int(child))}
    return found


def _is_rows_process(pid: int) -> bool:
    """Whether `pid` is a live rows process (a zombie is not: it has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z" and b"_rows_process" in command


class _Started:
    """A started log of the endpoint `ep`, and its rows process among this one's children."""

    def __init__(self, lake: Lake, tmp_path: Path, interval_s: float) -> None:
        self.others = _rows_processes(os.getpid())  # of other tests' logs
        self.log = InferenceLog(
            lake, "ep", tmp_path / "spool", schema=LOG_SCHEMA, interval_s=interval_s
        )
        self.log.start()
        (self.child,) = self.children()

    def children(self) -> set[int]:
        """The log's live rows processes."""
        return _rows_processes(os.getpid()) - self.others


def _ids(lake: Lake) -> list[str]:
    return sorted(str(r["request_id"]) for r in lake.read(inference_table("ep")).to_pylist())


def test_a_rows_process_killed_mid_run_loses_and_doubles_no_record(
    lake: Lake, tmp_path: Path
) -> None:
    started = _Started(lake, tmp_path, interval_s=0.05)
    log = started.log
    for i in range(1000):
        log.record(log_record(i))
    wait_until(lambda: log.written > 0, "a first append")
    os.kill(started.child, signal.SIGKILL)  # between two rounds or during one
    for i in range(1000, 2000):
        log.record(log_record(i))
    wait_until(lambda: log.backlog == 0, "every record appended")
    (replacement,) = wait_until(started.children, "a new rows process")
    assert replacement != started.child
    log.close()
    assert _ids(lake) == [f"r{i:04d}" for i in range(2000)]
    assert log.rejected == 0 and log.written == 2000
    assert not _is_rows_process(replacement)  # close() stopped it


def test_a_record_that_fails_conversion_in_the_child_goes_to_dead_letters_naming_the_column(
    lake: Lake, tmp_path: Path
) -> None:
    started = _Started(lake, tmp_path, interval_s=3600)
    poisoned = {**log_record(1), "rows": [[1.5, "twelve"]]}
    for record in (log_record(0), poisoned, log_record(2)):
        started.log.record(record)
    started.log.flush()
    assert started.children() == {started.child}  # it answered, it did not die
    started.log.close()
    assert _ids(lake) == ["r0000", "r0002"]
    (rejected,) = lake.read(inference_table("ep") + "_rejected").to_pylist()
    assert str(rejected["reason"]).startswith("ValueError: column 'b': not an integer")
    assert json.loads(str(rejected["record"])) == poisoned


def test_a_hung_rows_process_is_replaced_and_its_batch_still_lands(
    lake: Lake, tmp_path: Path
) -> None:
    started = _Started(lake, tmp_path, interval_s=3600)
    log = started.log
    log._rows.timeout_s = 1.0
    os.kill(started.child, signal.SIGSTOP)  # alive, and never answers
    for i in range(5):
        log.record(log_record(i))
    assert log.flush() == 5
    assert not _is_rows_process(started.child)  # killed once its answer was late
    log._rows.timeout_s = 60.0  # a new child's imports take a few seconds on a busy machine
    log.record(log_record(5))
    assert log.flush() == 1  # through another child
    assert len(started.children()) == 1
    log.close()
    assert _ids(lake) == [f"r{i:04d}" for i in range(6)]


def test_the_rows_process_exits_when_the_serving_process_is_killed_9(
    served: Served, server_factory: Callable[..., ServerProcess]
) -> None:
    served.log_sklearn()
    server = server_factory(served.configure()).start()
    assert server.process is not None
    pid = server.process.pid
    (child,) = wait_until(lambda: _rows_processes(pid), "the rows process")
    response = httpx.post(server.url + "/invocations", json={"instances": [[0.1, 0.2, 0.3]]})
    assert response.status_code == 200
    server.kill()  # SIGKILL to the serving process alone, not to its process group
    wait_until(lambda: not _is_rows_process(child), "the rows process gone", timeout=30)
