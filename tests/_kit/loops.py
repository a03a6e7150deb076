"""Waiting in tests: a `run_forever(interval, stop)` loop in a thread, and on a condition."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

__all__ = ["looping", "wait_until"]

T = TypeVar("T")


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


def wait_until(
    condition: Callable[[], T], what: str = "the condition", timeout: float = 120.0
) -> T:
    """The first true value of `condition()`, polled every 50 ms; an AssertionError naming
    `what` once `timeout` seconds have passed without one."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)
