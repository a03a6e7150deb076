"""A writer process for the concurrency tests: `python _writer_process.py MODE ROOT ID N`."""

from __future__ import annotations

import json
import sys

from lakestack.errors import WriteConflictError
from lakestack.lake import Lake, _lake


def main() -> None:
    mode, root, writer, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    lake = Lake(root).with_context(task=f"writer-{writer}")
    if mode == "append":
        for i in range(count):
            lake.append(
                "bronze.events", {"writer": [writer] * 3, "seq": [i] * 3, "part": [0, 1, 2]}
            )
        print(json.dumps({"ok": count, "conflicts": 0}))
        return
    if mode == "merge-no-retry":
        _lake._MERGE_RETRIES = 0  # type: ignore[attr-defined]  # force conflicts to surface
    ok = conflicts = 0
    for i in range(count):
        try:
            lake.merge(
                "gold.counts", {"k": [writer], "n": [i + 1], "who": [f"w{writer}"]}, keys=["k"]
            )
            ok += 1
        except WriteConflictError as exc:
            assert "gold.counts" in str(exc) and "Nothing was written" in str(exc)
            conflicts += 1
    print(json.dumps({"ok": ok, "conflicts": conflicts}))


if __name__ == "__main__":
    main()
