"""The HTTP plumbing of an endpoint: JSON answers, error bodies, the request body read within
its limit, request ids, and the Starlette app that answers the scoring routes the short way."""

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

__all__ = ["FastApp", "error_response", "json_response", "read_body", "request_ids"]

log = logging.getLogger("lakestack.serving")


OipInfer = Callable[[Request, str, str | None], Awaitable[Response]]
_OIP_MODELS, _OIP_INFER = "/v2/models/", "/infer"


class FastApp(Starlette):
    """Starlette, with the scoring routes answered without the middleware and the router:
    `POST /invocations` and, given `oip`, the Open Inference Protocol's
    `POST /v2/models/<name>[/versions/<v>]/infer`.

    The scoring routes are the ones that have to be fast: the exception middlewares and the
    route match are a tenth of a single-row request's time. The handlers handle their own
    errors (4xx, and 500 for a model failure); an error they do not handle is answered with 500
    here. With middleware added (`add_middleware`), every request takes the usual way.
    """

    def __init__(
        self,
        invocations: Callable[[Request], Awaitable[Response]],
        oip: OipInfer | None = None,
        **kwargs: Any,
    ) -> None:
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
            if path == "/invocations":
                await self._answer(self._invocations, scope, receive, send)
                return
            if self._oip is not None and path.startswith(_OIP_MODELS) and path.endswith(_OIP_INFER):
                found = _oip_model(path)
                if found is not None:
                    oip, (name, version) = self._oip, found
                    await self._answer(lambda r: oip(r, name, version), scope, receive, send)
                    return
        await super().__call__(scope, receive, send)

    async def _answer(
        self,
        handler: Callable[[Request], Awaitable[Response]],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        scope["app"] = self
        try:
            response = await handler(Request(scope, receive))
        except Exception:
            log.exception("answering a scoring request failed")
            response = error_response(500, "internal server error", "")
        await response(scope, receive, send)


def _oip_model(path: str) -> tuple[str, str | None] | None:
    """The model name and version of an OIP infer path, or None when it is not one."""
    parts = path[len(_OIP_MODELS) : -len(_OIP_INFER)].split("/")
    if len(parts) == 1 and parts[0]:
        return parts[0], None
    if len(parts) == 3 and parts[1] == "versions" and parts[0] and parts[2]:
        return parts[0], parts[2]
    return None


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def error_response(status: int, message: str, request_id: str) -> Response:
    code = {400: "BAD_REQUEST", 404: "RESOURCE_DOES_NOT_EXIST", 413: "PAYLOAD_TOO_LARGE"}
    return json_response(
        {"error_code": code.get(status, "INVALID_PARAMETER_VALUE"), "message": message},
        status,
        {"X-Request-ID": request_id},
    )


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ServingInputError(
            f"the body has {declared} bytes; the limit is {limit}: send fewer rows per request",
            status=413,
            kind="too_large",
        )
    chunks = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ServingInputError(
                    f"the body is over the limit of {limit} bytes: send fewer rows per request",
                    status=413,
                    kind="too_large",
                )
            chunks.append(chunk)
    except ClientDisconnect:
        raise ServingInputError(
            f"the client disconnected after {size} bytes, before sending the whole body",
            status=499,
            kind="disconnected",
        ) from None
    return b"".join(chunks)


def request_ids() -> Callable[[], str]:
    """Request ids: 32 hex digits, a random prefix per app and a counter (no system call per
    request, as `uuid4` makes)."""
    prefix = os.urandom(8).hex()
    counter = itertools.count()
    return lambda: f"{prefix}{next(counter):016x}"
