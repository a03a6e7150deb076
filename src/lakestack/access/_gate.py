"""Bearer tokens in front of a served path: an endpoint's `/invocations`, a metrics target.

`TokenGate` answers whether an `Authorization` header lets its principal do an action (calling
an endpoint, by default) in an environment; `BearerAuth` is the ASGI middleware that refuses a
request before the app sees it, so a refused request is neither answered by the model nor
logged. Verified tokens are remembered for two seconds, so a request costs a dictionary lookup
and a hash.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from lakestack.access._policy import decide
from lakestack.access._tokens import TokenInfo, verify_token
from lakestack.errors import AuthenticationError

if TYPE_CHECKING:
    from lakestack.config import Project

__all__ = ["BearerAuth", "Refusal", "TokenGate", "gate_wsgi"]

_REMEMBER_SECONDS = 2.0

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Refusal(Exception):
    """Why a request was refused: an HTTP status (401 or 403) and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class TokenGate:
    """Checks bearer tokens for one action in one environment.

    Example:
        >>> gate = TokenGate(project, "prod")  # doctest: +SKIP
        >>> gate.check("Bearer lks_...")  # doctest: +SKIP
        'ci'
    """

    def __init__(self, project: Project, environment: str, action: str = "endpoint.invoke"):
        self.project = project
        self.env = project.environment(environment)
        self.action = action
        self._seen: dict[str, tuple[float, TokenInfo]] = {}
        self._lock = threading.Lock()

    def check(self, authorization: str | None) -> str:
        """The principal an `Authorization` header proves, if it may do the action.

        Raises:
            Refusal: 401 without a valid token, 403 when the principal's role does not allow it.
        """
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refusal(
                401,
                f"this path needs `Authorization: Bearer <token>` with a token that works in "
                f"{self.env.name} (`lakestack access token create <principal> --env "
                f"{self.env.name}`)",
            )
        info = self._verified(token.strip())
        decision = decide(self.project, info.principal, self.action, self.env.name)
        if not decision.allowed:
            raise Refusal(403, decision.reason)
        return info.principal

    def _verified(self, token: str) -> TokenInfo:
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(token)
        fresh = seen is not None and now - seen[0] < _REMEMBER_SECONDS
        if seen is not None and fresh and datetime.now(UTC) < seen[1].expires_at:
            return seen[1]
        try:
            info = verify_token(self.env, token)
        except AuthenticationError as exc:
            with self._lock:
                self._seen.pop(token, None)
            raise Refusal(401, str(exc)) from None
        with self._lock:
            if len(self._seen) > 10_000:  # made-up tokens must not grow it without end
                self._seen.clear()
            self._seen[token] = (now, info)
        return info


class BearerAuth:
    """ASGI middleware: requests to `paths` (prefixes) need a token `gate` accepts.

    A refused request gets 401 (with `WWW-Authenticate: Bearer`) or 403 and a JSON body
    `{"error": ..., "detail": ...}`; the wrapped app never sees it.
    """

    def __init__(self, app: ASGIApp, gate: TokenGate, paths: tuple[str, ...]) -> None:
        self.app = app
        self.gate = gate
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.paths):
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        try:
            self.gate.check(header)
        except Refusal as refusal:
            await _refuse(send, refusal)
            return
        await self.app(scope, receive, send)


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


def gate_wsgi(app: WSGIApp, gate: TokenGate) -> WSGIApp:
    """A WSGI app answering only requests whose token `gate` accepts (a metrics target)."""

    def gated(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            gate.check(environ.get("HTTP_AUTHORIZATION"))
        except Refusal as refusal:
            body, headers = _refusal_body(refusal)
            reason = "Unauthorized" if refusal.status == 401 else "Forbidden"
            start_response(
                f"{refusal.status} {reason}", [(k.decode(), v.decode()) for k, v in headers]
            )
            return [body]
        return app(environ, start_response)

    return gated


def _refusal_body(refusal: Refusal) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    kind = "AuthenticationError" if refusal.status == 401 else "AccessDeniedError"
    body = orjson.dumps({"error": kind, "detail": str(refusal)})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if refusal.status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    return body, headers


async def _refuse(send: Send, refusal: Refusal) -> None:
    body, headers = _refusal_body(refusal)
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
