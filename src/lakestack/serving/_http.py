"""The HTTP plumbing of an endpoint: JSON answers, error bodies, the request body read within
its limit, request ids, and the Starlette app that answers the scoring routes the short way.

The short way is plain ASGI: the body is read from `receive` and the answer sent as two
messages, with no Starlette `Request`, middleware or router on the way.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from lakestack.serving._schema import ServingInputError

__all__ = [
    "BodyReader",
    "FastApp",
    "Handler",
    "asgi_body",
    "error_response",
    "header",
    "json_response",
    "read_body",
    "request_ids",
    "scope_headers",
    "send_response",
]

log = logging.getLogger("lakestack.serving")

BodyReader = Callable[[], Awaitable[bytes]]
"""Reads a request's whole body within the endpoint's limit (raises `ServingInputError`)."""

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]

_ERROR_CODES = {400: "BAD_REQUEST", 404: "RESOURCE_DOES_NOT_EXIST", 413: "PAYLOAD_TOO_LARGE"}


OipHandler = Callable[[Scope, Receive, Send, str, "str | None"], Awaitable[None]]
"""An OIP infer handler: the ASGI call, the model name and the version of its path."""
_OIP_MODELS, _OIP_INFER = "/v2/models/", "/infer"


class FastApp(Starlette):
    """Starlette, with the scoring routes answered by plain ASGI handlers: `POST /invocations`
    and, given `oip`, the Open Inference Protocol's `POST /v2/models/<name>[/versions/<v>]/infer`.

    The scoring routes are the ones that have to be fast: the exception middlewares, the route
    match and Starlette's request and response objects are a third of a single-row
    request's Python time. The handlers handle their own errors (4xx, and 500 for a model
    failure); an error they do not handle is answered with 500 here. With middleware added
    (`add_middleware`), every request takes the usual way.
    """

    def __init__(self, invocations: Handler, oip: OipHandler | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._invocations = invocations
        self._oip = oip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and not scope.get("root_path")
            and not self.user_middleware  # added middleware (auth, say) sees every request
        ):
            path = scope["path"]
            scope["app"] = self
            if path == "/invocations":
                await self._short(self._invocations(scope, receive, send), send)
                return
            if self._oip is not None and path.startswith(_OIP_MODELS) and path.endswith(_OIP_INFER):
                found = _oip_model(path)
                if found is not None:
                    await self._short(self._oip(scope, receive, send, *found), send)
                    return
        await super().__call__(scope, receive, send)

    async def _short(self, answering: Awaitable[None], send: Send) -> None:
        try:
            await answering
        except Exception:
            log.exception("answering a scoring request failed")
            await send_response(send, error_response(500, "internal server error", ""))


def _oip_model(path: str) -> tuple[str, str | None] | None:
    """The model name and version of an OIP infer path, or None when it is not one."""
    parts = path[len(_OIP_MODELS) : -len(_OIP_INFER)].split("/")
    if len(parts) == 1 and parts[0]:
        return parts[0], None
    if len(parts) == 3 and parts[1] == "versions" and parts[0] and parts[2]:
        return parts[0], parts[2]
    return None


def header(scope: Scope, name: bytes) -> str | None:
    """A request header of an ASGI scope (`name` in lower case), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def asgi_body(scope: Scope, receive: Receive, limit: int) -> BodyReader:
    """The body reader of a plain ASGI request (see `read_body` for the errors)."""

    async def read() -> bytes:
        _check_declared(header(scope, b"content-length"), limit)
        message = await receive()
        body = message.get("body", b"")
        if not message.get("more_body", False) and message["type"] == "http.request":
            if len(body) > limit:
                raise _too_large(limit)
            return bytes(body)
        chunks = [body]
        size = len(body)
        while message.get("more_body", False):
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _disconnected(size)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        if message["type"] == "http.disconnect":
            raise _disconnected(size)
        return b"".join(chunks)

    return read


async def send_response(send: Send, response: Response) -> None:
    """Send a complete response (no background task): its headers, then its body."""
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
    )
    await send({"type": "http.response.body", "body": response.body})


def scope_headers(scope: Scope) -> dict[str, str]:
    """The request headers of an ASGI scope by lower-case name (the last of a repeated one)."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


class JsonResponse(Response):
    """A JSON answer whose headers are built directly: what Starlette's `Response` sends for
    `media_type="application/json"` (the given headers, then the length and the type),
    without its header normalization, a few microseconds of each scoring request."""

    def __init__(
        self, payload: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self.body = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
        self.status_code = status
        self.background = None
        raw = [] if headers is None else [_raw_header(k, v) for k, v in headers.items()]
        raw.append((b"content-length", str(len(self.body)).encode()))
        raw.append(_JSON_TYPE)
        self.raw_headers = raw


_JSON_TYPE = (b"content-type", b"application/json")


def _raw_header(name: str, value: str) -> tuple[bytes, bytes]:
    return name.lower().encode("latin-1"), value.encode("latin-1")


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON answer (`JsonResponse`)."""
    return JsonResponse(payload, status, headers)


def error_response(status: int, message: str, request_id: str) -> Response:
    """MLflow's error body: `{"error_code": ..., "message": ...}`."""
    code = _ERROR_CODES.get(status, "INVALID_PARAMETER_VALUE")
    return json_response(
        {"error_code": code, "message": message}, status, {"X-Request-ID": request_id}
    )


def read_body(request: Request, limit: int) -> BodyReader:
    """The body reader of a Starlette request.

    Raises (when called):
        ServingInputError: 413 past `limit` bytes (declared or sent), 499 when the client
            disconnected before sending the whole body.
    """

    async def read() -> bytes:
        _check_declared(request.headers.get("content-length"), limit)
        chunks = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
        except ClientDisconnect:
            raise _disconnected(size) from None
        return b"".join(chunks)

    return read


def _check_declared(declared: str | None, limit: int) -> None:
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ServingInputError(
            f"the body has {declared} bytes; the limit is {limit}: send fewer rows per request",
            status=413,
            kind="too_large",
        )


def _too_large(limit: int) -> ServingInputError:
    return ServingInputError(
        f"the body is over the limit of {limit} bytes: send fewer rows per request",
        status=413,
        kind="too_large",
    )


def _disconnected(size: int) -> ServingInputError:
    return ServingInputError(
        f"the client disconnected after {size} bytes, before sending the whole body",
        status=499,
        kind="disconnected",
    )


def request_ids() -> Callable[[], str]:
    """Request ids: 32 hex digits, a random prefix per app and a counter (no system call per
    request, as `uuid4` makes)."""
    prefix = os.urandom(8).hex()
    counter = itertools.count()
    return lambda: f"{prefix}{next(counter):016x}"
