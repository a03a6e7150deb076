"""Reproduce a model version: its recorded commit, its recorded table versions, retrain, compare.

The recorded commit is extracted with `git archive` into a temporary folder and the version's
entry point (`module:function`, recorded by `log_model`) runs there in a fresh Python process,
so the code that runs is the code that trained, not the code checked out now. The entry point
gets a `TrainingInputs` whose reads are pinned to the recorded Delta versions (time travel) and
returns its metrics, which are compared with the recorded ones.
"""

from __future__ import annotations

import importlib
import io
import json
import math
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakestack.errors import RegistryError

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from lakestack.config import Project
    from lakestack.lake import Lake
    from lakestack.registry._registry import ModelRegistry

__all__ = ["Reproduction", "TrainingInputs", "git_location", "reproduce"]

_MARK = "LAKESTACK_REPRODUCE_RESULT "


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=folder, capture_output=True, timeout=120)


def git_location(folder: Path) -> tuple[Path, str] | None:
    """The git work tree holding `folder` and the folder's path inside it ("" at the top)."""
    try:
        top = _git(folder, "rev-parse", "--show-toplevel")
        prefix = _git(folder, "rev-parse", "--show-prefix")
    except (OSError, subprocess.SubprocessError):
        return None
    if top.returncode != 0 or prefix.returncode != 0:
        return None
    return Path(top.stdout.decode().strip()), prefix.stdout.decode().strip().rstrip("/")


@dataclass
class TrainingInputs:
    """What a reproducible training entry point gets: pinned reads and its parameters.

    Attributes:
        project: the project (its environments and lake).
        lake: the environment's lake.
        tables: the recorded Delta version of each training table.
        params: the parameters recorded with the version.

    Example:
        >>> def reproduce(inputs: TrainingInputs) -> dict[str, float]:  # doctest: +SKIP
        ...     frame = inputs.read_polars("silver.flights")  # at the recorded version
        ...     model, metrics = fit(frame, **inputs.params)
        ...     return metrics
    """

    project: Project
    lake: Lake
    tables: dict[str, int]
    params: dict[str, Any] = field(default_factory=dict)

    def version(self, table: str) -> int:
        """The recorded version of a training table.

        Raises:
            RegistryError: the version recorded no such table.
        """
        try:
            return self.tables[table]
        except KeyError:
            raise RegistryError(
                f"table {table} is not among the recorded training tables "
                f"({', '.join(sorted(self.tables)) or 'none'}); record it with "
                "log_model(training_tables=...)"
            ) from None

    def read(self, table: str, **kwargs: Any) -> pa.Table:
        """Read a training table at its recorded version (`Lake.read`'s other arguments)."""
        return self.lake.read(table, version=self.version(table), **kwargs)

    def read_polars(self, table: str, **kwargs: Any) -> pl.DataFrame:
        """`read` as a Polars DataFrame."""
        return self.lake.read_polars(table, version=self.version(table), **kwargs)


@dataclass(frozen=True)
class Reproduction:
    """The outcome of `reproduce`.

    Attributes:
        model: the registered model.
        version: the version reproduced.
        commit: the git commit its code was checked out at.
        tables: the table versions read.
        recorded: the metrics recorded with the version.
        reproduced: the metrics of the retrained model.
        matches: every recorded metric was reproduced within the tolerance.
        seconds: how long the retraining took.
    """

    model: str
    version: int
    commit: str
    tables: dict[str, int]
    recorded: dict[str, float]
    reproduced: dict[str, float]
    matches: bool
    seconds: float

    @property
    def differences(self) -> dict[str, float | None]:
        """reproduced - recorded per recorded metric (None when it was not reproduced)."""
        return {
            k: (self.reproduced[k] - v if k in self.reproduced else None)
            for k, v in self.recorded.items()
        }

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "differences": self.differences}


def _checkout(repo: Path, commit: str, dest: Path) -> None:
    exists = _git(repo, "cat-file", "-e", f"{commit}^{{commit}}")
    if exists.returncode != 0:
        raise RegistryError(
            f"commit {commit[:12]} is not in the git repository {repo}; fetch it "
            "(git fetch --all) and retry"
        )
    archive = _git(repo, "archive", "--format=tar", commit)
    if archive.returncode != 0:
        raise RegistryError(f"git archive {commit[:12]} failed: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")


def reproduce(
    reg: ModelRegistry,
    model: str,
    version: int | str,
    *,
    tolerance: float = 1e-9,
    timeout: float = 3600.0,
) -> Reproduction:
    """See `ModelRegistry.reproduce`."""
    info = reg.version(model, version)
    where = f"{model} version {info.version}"
    commit = info.tag("code_commit")
    if not commit:
        raise RegistryError(
            f"{where} was trained outside git (no commit is recorded), so its code cannot be "
            "checked out again. Train from a git work tree with every change committed."
        )
    if info.tag("code_dirty") == "true":
        raise RegistryError(
            f"{where} was trained from a work tree with uncommitted changes (commit "
            f"{commit[:12]}+dirty): the code that trained it was never recorded. Commit "
            "before training to make versions reproducible."
        )
    entry_point = info.tag("entry_point")
    if not entry_point:
        raise RegistryError(
            f"{where} records no entry point to retrain with; log it with "
            "log_model(..., entry_point='package.module:function')"
        )
    location = git_location(reg.project.root)
    if location is None:
        raise RegistryError(f"the project {reg.project.root} is not in a git work tree")
    repo, _ = location
    code_path = info.tag("code_path") or ""
    recorded = {k: float(v) for k, v in (info.json_tag("metrics") or {}).items()}
    tables = info.training_tables
    with tempfile.TemporaryDirectory(prefix="lakestack-reproduce-") as tmp:
        _checkout(repo, commit, Path(tmp))
        code_dir = Path(tmp) / code_path
        payload = {
            "project": str(reg.project.root),
            "environment": reg.environment.name,
            "code_dir": str(code_dir),
            "entry_point": entry_point,
            "tables": tables,
            "params": info.json_tag("params") or {},
        }
        started = time.perf_counter()
        reproduced = _run_child(payload, code_dir, timeout)
        seconds = time.perf_counter() - started
    matches = bool(recorded) and all(
        k in reproduced and math.isclose(reproduced[k], v, rel_tol=tolerance, abs_tol=tolerance)
        for k, v in recorded.items()
    )
    return Reproduction(model, info.version, commit, tables, recorded, reproduced, matches, seconds)


def _run_child(payload: dict[str, Any], code_dir: Path, timeout: float) -> dict[str, float]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code_dir), env.get("PYTHONPATH")]))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "lakestack.registry._reproduce", json.dumps(payload)],
            cwd=code_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise RegistryError(f"retraining did not finish within {timeout:.0f} s") from None
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(_MARK):
            result = json.loads(line.removeprefix(_MARK))
            if "error" in result:
                raise RegistryError(f"retraining failed: {result['error']}")
            return {str(k): float(v) for k, v in result["metrics"].items()}
    tail = "\n".join(done.stderr.strip().splitlines()[-5:]) or "no output"
    raise RegistryError(f"retraining exited with code {done.returncode}:\n{tail}")


def _child(payload: Mapping[str, Any]) -> dict[str, float]:
    from lakestack.config import load_project
    from lakestack.lake import Lake

    sys.path.insert(0, str(payload["code_dir"]))
    project = load_project(payload["project"])
    lake = Lake.for_environment(project, payload["environment"])
    module_name, _, function = str(payload["entry_point"]).partition(":")
    fn = getattr(importlib.import_module(module_name), function)
    inputs = TrainingInputs(
        project=project,
        lake=lake,
        tables={str(k): int(v) for k, v in payload["tables"].items()},
        params=dict(payload["params"]),
    )
    metrics = fn(inputs)
    return {str(k): float(v) for k, v in dict(metrics).items()}


def main(argv: list[str]) -> int:
    try:
        result: dict[str, Any] = {"metrics": _child(json.loads(argv[0]))}
    except Exception as exc:  # reported to the parent
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print(_MARK + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
