"""Requests from the control plane to the endpoints it serves on this host.

`httpx.get` builds a client per call, and with it an SSL context that loads the system's CA
certificates (~60 ms on a busy machine) even for plain HTTP to 127.0.0.1: the endpoints list
and an endpoint's page probe each endpoint, so one client is built once and shared (httpx's
client is safe across threads). It keeps no idle connection, as each call before did not.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx

__all__ = ["local_request"]


@functools.cache
def _client() -> httpx.Client:
    return httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))


def local_request(
    method: str, port: int, path: str, *, timeout: float, **kwargs: Any
) -> httpx.Response:
    """`method` on `http://127.0.0.1:<port><path>`; httpx's errors as `httpx.get` raises them."""
    return _client().request(method, f"http://127.0.0.1:{port}{path}", timeout=timeout, **kwargs)
