"""A process that promotes versions of a model to production, for the concurrency test.

Usage: python _promoter_process.py PROJECT MODEL START_FILE VERSION [VERSION ...]
It waits for START_FILE to exist, so that two promoters start together.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from lakestack.config import load_project
from lakestack.registry import ModelRegistry


def main() -> None:
    root, model, start = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    versions = [int(v) for v in sys.argv[4:]]
    registry = ModelRegistry(load_project(root), "dev")
    registry.client.search_registered_models()  # connect before the start signal
    while not start.exists():
        time.sleep(0.01)
    done = []
    for version in versions:
        promotion = registry.promote(model, version, to="production", reason=f"by {versions}")
        done.append([promotion.previous_version, promotion.version])
    print(json.dumps(done))


if __name__ == "__main__":
    main()
