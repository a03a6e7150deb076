"""HTTP/1.1 under uvicorn with a response's head and body sent in one write.

uvicorn's httptools protocol writes a response's status line and headers to the socket as
soon as the app sends `http.response.start`, and the body with a second write when it sends
`http.response.body`: two system calls for every single-row answer, which profiles showed to
be the largest part of the HTTP floor's own cost. `OneWriteProtocol` holds the head until
the body's first write and sends the two together; everything else is uvicorn's.

Left as uvicorn writes them: HEAD requests (uvicorn writes no body for them) and requests
that `Expect: 100-continue` (the interim answer must go out on its own). A response that
fails after its head and before any body closes the connection, as it does under uvicorn.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["OneWriteProtocol"]


class _HeldHead:
    """A response's transport whose first write (the head) waits for the second."""

    __slots__ = ("_head", "_state", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head = b""
        self._state = 0  # 0: nothing written, 1: head held, 2: written through

    def write(self, data: bytes) -> None:
        if self._state == 2:
            self._transport.write(data)
        elif self._state == 1:
            self._state = 2
            self._transport.write(self._head + data)
            self._head = b""
        else:
            self._state = 1
            self._head = bytes(data)

    def __getattr__(self, name: str) -> Any:  # close, is_closing, ...: the transport's own
        return getattr(self._transport, name)


class OneWriteProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing each response's head and body at once.

    `lakestack serve` gives it to uvicorn (`--http lakestack.serving._one_write:OneWriteProtocol`
    does the same on uvicorn's command line).
    """

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if (
            cycle is not None
            and cycle.scope is self.scope  # not an upgrade: this request's own cycle
            and self.scope["method"] != "HEAD"
            and not self.expect_100_continue
        ):
            cycle.transport = _HeldHead(self.transport)  # type: ignore[assignment]
