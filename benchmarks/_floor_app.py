"""The floor of serving_bench.py: a bare ASGI app answering every request with a fixed body.

Run under the same server as lakestack (uvicorn with uvloop and httptools), it costs what the
HTTP server and the load generator cost and nothing else: no parse, no model, no log.
"""

from __future__ import annotations

from typing import Any

BODY = b'{"predictions":[0.5]}'
_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))],
}
_BODY = {"type": "http.response.body", "body": BODY}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":  # lifespan: nothing to start
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:  # read the whole body, as every server here does
        more = (await receive()).get("more_body", False)
    await send(_START)
    await send(_BODY)
