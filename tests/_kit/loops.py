"""Background loops for tests: a `run_forever(interval, stop)` in a thread, and waiting on it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["looping", "wait_until"]


@contextmanager
def looping(
    run_forever: Callable[[float, threading.Event], object], interval: float = 0.05
) -> Iterator[threading.Event]:
    """`run_forever(interval, stop)` in a thread while the block runs; then stopped and joined."""
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(interval, stop))
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(60)


def wait_until(condition: Callable[[], object], timeout: float = 120.0) -> None:
    """Return once `condition()` is true, or after `timeout` seconds (the caller asserts)."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
