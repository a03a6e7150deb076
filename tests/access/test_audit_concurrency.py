"""Audit rows appended by several processes and threads at once all land."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

from lakestack.access import acting_as, read_audit
from lakestack.config import Project, load_project
from lakestack.lake import Lake


def _writes(root: str, who: str, n: int) -> None:
    project = load_project(root)
    with acting_as(who):
        lake = Lake.for_environment(project, "dev")
        for i in range(n):
            lake.append(f"bronze.{who}", {"i": [i]})


def test_every_audited_write_of_concurrent_writers_is_recorded(aproject: Project) -> None:
    root = str(aproject.root)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writes, args=(root, who, 8)) for who in ("dev1", "dep1")]
    threads = [threading.Thread(target=_writes, args=(root, "alice", 8)) for _ in range(2)]
    for worker in (*procs, *threads):
        worker.start()
    for thread in threads:
        thread.join(300)
    for proc in procs:
        proc.join(300)
        assert proc.exitcode == 0
    records = read_audit(aproject.environment("dev"), action="table.write")
    counts = {who: sum(r.principal == who for r in records) for who in ("dev1", "dep1", "alice")}
    assert counts == {"dev1": 8, "dep1": 8, "alice": 16}
    assert Path(root, ".lakestack/dev/lake/bronze/alice").is_dir()
