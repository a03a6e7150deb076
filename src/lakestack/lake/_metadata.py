"""Commit metadata: who and what wrote each Delta commit, and the code version."""

from __future__ import annotations

import functools
import subprocess
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["CodeVersion", "Commit", "WriteContext", "code_version"]

_PREFIX = "lakestack."


@dataclass(frozen=True)
class CodeVersion:
    """The git commit of the code that wrote, and whether the work tree had changes."""

    commit: str | None
    dirty: bool

    def __str__(self) -> str:
        if self.commit is None:
            return "unversioned"
        return self.commit[:12] + ("+dirty" if self.dirty else "")


@functools.lru_cache(maxsize=32)
def code_version(folder: str | Path | None = None) -> CodeVersion:
    """The git commit and dirty flag of `folder` (the cwd by default); cached per folder."""
    cwd = str(folder or Path.cwd())
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return CodeVersion(None, False)
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return CodeVersion(None, False)
    return CodeVersion(head.stdout.strip(), bool(status.stdout.strip()))


@dataclass(frozen=True)
class WriteContext:
    """What a write records in its Delta commit's custom metadata.

    Attributes:
        environment: the environment writing.
        principal: who writes (`LAKESTACK_PRINCIPAL`, else the OS user).
        run_id: the pipeline run id, when a pipeline writes.
        job: the job name.
        task: the task name.
        code_version: the git commit and dirty flag of the project code.
    """

    environment: str = "dev"
    principal: str = ""
    run_id: str | None = None
    job: str | None = None
    task: str | None = None
    code_version: CodeVersion = CodeVersion(None, False)

    def __post_init__(self) -> None:
        if not self.principal:
            from lakestack.access import claimed_principal

            object.__setattr__(self, "principal", claimed_principal())

    def with_(self, **changes: Any) -> WriteContext:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_metadata(self, operation: str) -> dict[str, str]:
        """The commit's custom metadata, every key prefixed `lakestack.`."""
        values: dict[str, Any] = {
            "operation": operation,
            "environment": self.environment,
            "principal": self.principal,
            "run_id": self.run_id,
            "job": self.job,
            "task": self.task,
            "git_commit": self.code_version.commit,
            "git_dirty": str(self.code_version.dirty).lower(),
        }
        return {_PREFIX + k: str(v) for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class Commit:
    """One entry of a table's history.

    Attributes:
        version: the Delta version this commit created.
        timestamp: when it was committed (UTC).
        operation: Delta's operation (WRITE, MERGE, DELETE, OPTIMIZE, ...).
        rows_added: rows written, when Delta recorded it.
        metadata: lakestack's commit metadata without the `lakestack.` prefix.
    """

    version: int
    timestamp: datetime
    operation: str
    rows_added: int | None
    metadata: dict[str, str]

    @property
    def writer(self) -> str:
        """A short description of who wrote: principal, and job/task when a pipeline did."""
        who = self.metadata.get("principal", "?")
        job, task = self.metadata.get("job"), self.metadata.get("task")
        if job:
            return f"{who} ({job}/{task})" if task else f"{who} ({job})"
        return who

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["timestamp"] = self.timestamp.isoformat()
        return out

    @classmethod
    def from_delta(cls, entry: dict[str, Any]) -> Commit:
        metrics = entry.get("operationMetrics") or {}
        rows = metrics.get("num_added_rows", metrics.get("num_target_rows_inserted"))
        return cls(
            version=int(entry["version"]),
            timestamp=datetime.fromtimestamp(int(entry["timestamp"]) / 1000, tz=UTC),
            operation=str(entry.get("operation", "")),
            rows_added=int(rows) if rows is not None else None,
            metadata={
                k.removeprefix(_PREFIX): str(v) for k, v in entry.items() if k.startswith(_PREFIX)
            },
        )
