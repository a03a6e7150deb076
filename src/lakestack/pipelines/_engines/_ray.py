"""The Ray engine: each attempt is a Ray task running the same `execute` as a local worker.

`engine: ray` starts (or joins) a local Ray; `engine: ray://host:port` connects to a cluster
through Ray Client. Ray is imported only when this engine is used (`pip install lakestack[ray]`).
The workers must see the project folder at the same path (a shared file system, or the same
machine) and the lake's storage: their writes and log files land there.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lakestack.errors import PipelineError
from lakestack.pipelines._worker import TaskOutcome, TaskRequest, execute
from lakestack.ray_connect import connect_ray

__all__ = ["RayEngine"]


@dataclass
class _Attempt:
    request: TaskRequest
    started_at: datetime
    deadline: float | None


class RayEngine:
    """Runs attempts as Ray tasks.

    Args:
        address: `ray://host:port`, or None for a local Ray (joined when one is running).
        max_workers: the most attempts at once (default: the cluster's CPUs).
    """

    name = "ray"

    def __init__(self, address: str | None = None, max_workers: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise PipelineError(
                "the ray engine needs Ray: pip install 'lakestack[ray]' (or use engine: local)"
            ) from None
        self._ray: Any = ray
        self._address = address
        self._max_workers = max_workers
        self._started_ray = False
        self._remote: Any = None
        self._running: dict[Any, _Attempt] = {}

    @property
    def capacity(self) -> int:
        if self._max_workers:
            return self._max_workers
        if self._ray.is_initialized():
            return max(1, int(self._ray.cluster_resources().get("CPU", 1)))
        return 1

    def start(self, expected: int) -> None:
        ray = self._ray
        if not ray.is_initialized():
            self._connect()
            self._started_ray = True
        if self._remote is None:
            self._remote = ray.remote(execute).options(max_retries=0, num_cpus=1)

    def _connect(self) -> None:
        """Start or join Ray; a cluster that refuses a new client (still starting, busy) gets
        a few more tries before the run fails with the reason."""
        try:
            connect_ray(self._address)
        except ConnectionError as exc:
            raise PipelineError(
                f"cannot connect to the Ray cluster at {self._address}: {exc}. Check "
                "that it runs, that its client port is reachable, and (with token "
                "authentication) that RAY_AUTH_MODE and RAY_AUTH_TOKEN are set here."
            ) from exc

    def submit(self, request: TaskRequest) -> None:
        if self._remote is None:
            self.start(1)
        ref = self._remote.remote(request)
        deadline = time.monotonic() + request.timeout if request.timeout else None
        self._running[ref] = _Attempt(request, datetime.now(UTC), deadline)

    def poll(self, timeout: float) -> list[TaskOutcome]:
        if not self._running:
            time.sleep(max(0.0, timeout))
            return []
        deadlines = [a.deadline for a in self._running.values() if a.deadline is not None]
        if deadlines:
            timeout = max(0.0, min(timeout, min(deadlines) - time.monotonic()))
        refs = list(self._running)
        ready, _ = self._ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:  # collect everything else that finished too
            ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=0)
        outcomes: list[TaskOutcome] = []
        for ref in ready:
            attempt = self._running.pop(ref)
            try:
                outcomes.append(self._ray.get(ref))
            except Exception as exc:  # the worker crashed or Ray lost it
                outcomes.append(
                    TaskOutcome.lost(
                        attempt.request,
                        attempt.started_at,
                        f"its Ray worker failed: {type(exc).__name__}: {str(exc)[:500]}",
                    )
                )
        now = time.monotonic()
        for ref, attempt in list(self._running.items()):
            if attempt.deadline is not None and now >= attempt.deadline:
                with contextlib.suppress(Exception):
                    self._ray.cancel(ref, force=True)
                del self._running[ref]
                outcomes.append(
                    TaskOutcome.lost(
                        attempt.request,
                        attempt.started_at,
                        f"timed out after {attempt.request.timeout:g} s; its Ray task was "
                        "cancelled (raise the task's timeout in lakestack.yaml if it needs longer)",
                    )
                )
        return outcomes

    def cancel_all(self) -> list[TaskRequest]:
        cancelled = [attempt.request for attempt in self._running.values()]
        for ref in self._running:
            with contextlib.suppress(Exception):
                self._ray.cancel(ref, force=True)
        self._running.clear()
        return cancelled

    def close(self) -> None:
        self.cancel_all()
        if self._started_ray:
            self._ray.shutdown()
            self._started_ray = False
