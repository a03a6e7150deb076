"""Starting or joining Ray, shared by the Ray engine and the training sets built on Ray.

A cluster that is starting or busy can refuse a new Ray Client connection ("Initialization
failure from server"); a few more tries with a growing pause get through where one would fail.
Ray is imported only when called (`pip install lakestack[ray]`).
"""

from __future__ import annotations

import contextlib
import time

__all__ = ["connect_ray"]

_TRIES = 4


def connect_ray(address: str | None, *, tries: int = _TRIES) -> None:
    """`ray.init` on `address` (`ray://host:port`, or None for a local Ray, joined when running).

    Raises:
        ConnectionError: the last try's, when every try was refused.
    """
    import ray

    for attempt in range(tries):
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
            return
        except ConnectionError:
            if attempt == tries - 1:
                raise
            with contextlib.suppress(Exception):
                ray.shutdown()
            time.sleep(2.0 * (attempt + 1))
