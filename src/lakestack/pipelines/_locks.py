"""Per-job locks, so that two runs of one job do not overlap (unless `allow_overlap`).

A lock is an exclusive `flock` on `.lakestack/<env>/locks/<job>.lock`: it works across
processes (a `lakestack run` and a scheduler), between threads of one process (each lock opens
its own file description), and the kernel releases it when its process dies, so a crashed
runner never leaves a job locked. On platforms without `fcntl` (Windows) locking is a no-op.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from lakestack.config import Project

__all__ = ["JobLock"]

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class JobLock:
    """The lock of one job in one environment.

    Example:
        >>> lock = JobLock.of(project, "dev", "training")  # doctest: +SKIP
        >>> if lock.acquire():  # doctest: +SKIP
        ...     try: ...
        ...     finally: lock.release()
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    @classmethod
    def of(cls, project: Project, environment: str, job: str) -> JobLock:
        return cls(project.state_dir / environment / "locks" / f"{job}.lock")

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._handle is not None

    def acquire(self, owner: str = "") -> bool:
        """Take the lock without waiting; False when someone else holds it."""
        if self._handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open while held
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{owner} pid {os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return True

    def owner(self) -> str:
        """Who holds (or last held) the lock, as it wrote itself down."""
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def release(self) -> None:
        """Give the lock back (a no-op when not held)."""
        if self._handle is None:
            return
        with contextlib.suppress(OSError):
            if fcntl is not None:
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None

    def is_free(self) -> bool:
        """Whether nobody holds the lock right now."""
        if self._handle is not None:
            return False
        if self.acquire():
            self.release()
            return True
        return False
