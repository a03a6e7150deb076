"""The test kit: what tests of several packages share (the fixtures are in tests/conftest.py).

- `write_project`: a project folder with a `lakestack.yaml` of the given sections, its
  environments kept in the folder, a migrated MLflow database copied in, task modules beside it.
- `free_port` and `ServerProcess` (from `lakestack.serving`, where the demo and the benchmarks
  take them too): a port on 127.0.0.1, and `lakestack serve` in a subprocess, ready on `/ready`.
- `local_environment`: the settings of one environment kept under `.lakestack/<name>/`.
- `run_cli`: `lakestack <args>` through `main` in this process: exit code, stdout, stderr.
- `_kit.clusters` (an object store, a Ray head), `_kit.access` (projects with principals),
  `_kit.models` (a fitted model logged with its signature), `_kit.loops` (a background
  `run_forever` loop, waiting on a condition) and `_kit.fuzz` (hypothesis settings of the
  schemathesis fuzzers).
"""

from __future__ import annotations

from _kit.cli import run_cli
from _kit.projects import local_environment, write_project
from lakestack.serving import ServerProcess, free_port

__all__ = ["ServerProcess", "free_port", "local_environment", "run_cli", "write_project"]
