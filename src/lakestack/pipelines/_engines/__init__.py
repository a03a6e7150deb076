"""Engines run task attempts; the runner decides what to run, when, and records it.

An engine is a small protocol with a registry by name, so that adding one (Kubernetes jobs,
Dask, ...) means adding a module and one `register_engine` line:

- `local` (the default): a pool of pre-started worker processes on this machine.
- `ray`: Ray tasks on a local Ray (`ray`) or a cluster (`ray://host:port`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from lakestack.errors import PipelineError
from lakestack.pipelines._worker import TaskOutcome, TaskRequest

__all__ = ["ENGINES", "Engine", "EngineFactory", "create_engine", "register_engine"]


class Engine(Protocol):
    """Runs task attempts, each isolated from the runner and from the other attempts.

    An engine kills an attempt that outlives its request's `timeout` and reports it as a
    failed outcome; a crashed attempt is a failed outcome too, never an exception.
    """

    name: str

    @property
    def capacity(self) -> int:
        """How many attempts may run at once."""
        ...

    def start(self, expected: int) -> None:
        """Get ready to run about `expected` attempts (start workers, connect)."""
        ...

    def submit(self, request: TaskRequest) -> None:
        """Start an attempt; returns at once."""
        ...

    def poll(self, timeout: float) -> list[TaskOutcome]:
        """Wait up to `timeout` seconds; return the attempts that finished (maybe none)."""
        ...

    def cancel_all(self) -> list[TaskRequest]:
        """Stop every running attempt; return their requests."""
        ...

    def close(self) -> None:
        """Release the workers."""
        ...


EngineFactory = Callable[[str, int | None], Engine]
"""Makes an engine from its spec (`local`, `ray`, `ray://host:port`) and a worker limit."""


def _local(spec: str, max_workers: int | None) -> Engine:
    from lakestack.pipelines._engines._local import LocalEngine

    return LocalEngine(max_workers)


def _ray(spec: str, max_workers: int | None) -> Engine:
    from lakestack.pipelines._engines._ray import RayEngine

    return RayEngine(None if spec == "ray" else spec, max_workers)


ENGINES: dict[str, EngineFactory] = {"local": _local, "ray": _ray}


def register_engine(name: str, factory: EngineFactory) -> None:
    """Make engine `name` (and specs `name://...`) available to runs."""
    ENGINES[name] = factory


def create_engine(spec: str, max_workers: int | None = None) -> Engine:
    """The engine for a spec: `local`, `ray`, `ray://host:port`, or a registered name.

    Raises:
        PipelineError: no engine of that name is registered.
    """
    name = spec.split("://", 1)[0]
    factory = ENGINES.get(name)
    if factory is None:
        raise PipelineError(
            f"unknown engine {spec!r}; known engines: {', '.join(sorted(ENGINES))} "
            "(register others with lakestack.pipelines.register_engine)"
        )
    return factory(spec, max_workers)
