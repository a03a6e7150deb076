"""A writer process of the object-storage tests: `python _project_writer_process.py MODE PROJECT
ENV ID N` appends (or merges) N times to the lake of a project's environment, as a job would."""

from __future__ import annotations

import json
import sys

from lakestack.config import load_project
from lakestack.lake import Lake


def main() -> None:
    mode, folder, env = sys.argv[1], sys.argv[2], sys.argv[3]
    writer, count = int(sys.argv[4]), int(sys.argv[5])
    lake = Lake.for_environment(load_project(folder), env).with_context(task=f"w{writer}")
    for i in range(count):
        if mode == "append":
            lake.append("bronze.events", {"writer": [writer] * 2, "seq": [i] * 2, "part": [0, 1]})
        else:
            lake.merge("gold.counts", {"k": [writer], "n": [i + 1]}, keys=["k"])
    print(json.dumps({"ok": count}))


if __name__ == "__main__":
    main()
