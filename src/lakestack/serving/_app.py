"""The online endpoint: an ASGI app answering MLflow scoring requests, logging every one."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from lakestack.serving._metrics import EndpointMetrics
from lakestack.serving._microbatch import MicroBatcher
from lakestack.serving._model import ServedModel, jsonable
from lakestack.serving._openapi import openapi_document
from lakestack.serving._payload import Rows, conform, parse_body
from lakestack.serving._schema import ServingInputError
from lakestack.serving._state import ModelSlots, Traffic

if TYPE_CHECKING:
    from lakestack.registry import LoadedModel
    from lakestack.serving._context import ContextColumns
    from lakestack.serving._inference_log import InferenceLog

__all__ = ["Limits", "create_app"]

log = logging.getLogger("lakestack.serving")

FeatureFill = Callable[[ServedModel, Rows], Rows]


@dataclass(frozen=True)
class Limits:
    """What a request may be.

    Attributes:
        max_body_bytes: larger bodies get 413.
        max_rows: more rows get 413.
        allow_missing: null in a number column is passed to the model as NaN (else 422).
        inline_rows: batches up to this size are scored on the event loop (no thread hop;
            the NumPy fast path takes microseconds); larger ones in a worker thread.
    """

    max_body_bytes: int = 8 << 20
    max_rows: int = 100_000
    allow_missing: bool = False
    inline_rows: int = 256


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _error(status: int, message: str, request_id: str) -> Response:
    code = {400: "BAD_REQUEST", 404: "RESOURCE_DOES_NOT_EXIST", 413: "PAYLOAD_TOO_LARGE"}
    return _json(
        {"error_code": code.get(status, "INVALID_PARAMETER_VALUE"), "message": message},
        status,
        {"X-Request-ID": request_id},
    )


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ServingInputError(
            f"the body has {declared} bytes; the limit is {limit}: send fewer rows per request",
            status=413,
            kind="too_large",
        )
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ServingInputError(
                f"the body is over the limit of {limit} bytes: send fewer rows per request",
                status=413,
                kind="too_large",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    loader: Callable[[str | int], LoadedModel],
    *,
    endpoint: str = "model",
    traffic: Traffic | None = None,
    inference_log: InferenceLog | None = None,
    limits: Limits | None = None,
    alias_lookup: Callable[[str], int | None] | None = None,
    poll_interval_s: float = 30.0,
    feature_fill: FeatureFill | None = None,
    context: ContextColumns | None = None,
    fast_path: bool = True,
    load_before_serving: bool = False,
    freeze_gc: bool = False,
    batch_wait_ms: float = 0.0,
    batch_max_rows: int = 256,
) -> Starlette:
    """An ASGI app serving one endpoint.

    The model is loaded in a background thread at start-up: `/health` answers at once,
    `/ready` and `/invocations` once the production model is loaded. With
    `load_before_serving` the start-up waits for the load instead, so the server accepts no
    connection before its model is ready: what several workers sharing one socket need,
    since a probe of `/ready` reaches only one of them.

    Args:
        loader: loads a model by alias (`"production"`) or version number.
        endpoint: the endpoint's name (metrics labels, the inference table).
        traffic: the aliases answering and mirroring requests (default: `production` only).
        inference_log: where every request is logged (None: not logged).
        limits: request limits.
        alias_lookup: the version an alias points to now; with it the app follows the
            registry, polling every `poll_interval_s` seconds.
        feature_fill: looks missing feature columns up by the request's entity keys.
        context: request columns logged with each row but not given to the model.
        fast_path: score LightGBM and scikit-learn models on NumPy arrays.
        load_before_serving: finish loading (or failing to load) before serving.
        freeze_gc: once loaded, move every object to the garbage collector's permanent
            generation, so that its full collections do not walk the loaded libraries and
            model (tens of milliseconds each, which every in-flight request waits out).
            For a process that only serves; tests leave it off.
        batch_wait_ms: above 0, requests scored in a worker thread (no NumPy fast path, or
            more than `limits.inline_rows` rows) without `params` are micro-batched: the
            first waits at most this many milliseconds for others to the same model version,
            then one `predict` call scores them all (see `_microbatch.py`).
        batch_max_rows: a micro-batch is scored as soon as it has this many rows.

    Example:
        >>> app = create_app(lambda ref: registry.load_model("flights_delay", ref))
        ... # doctest: +SKIP
    """
    limits = limits or Limits()
    metrics = EndpointMetrics(endpoint)
    slots = ModelSlots(
        loader,
        traffic or Traffic(),
        alias_lookup=alias_lookup,
        metrics=metrics,
        fast_path=fast_path,
    )
    background: set[asyncio.Future[Any]] = set()
    next_id = _request_ids()
    batcher = MicroBatcher(batch_wait_ms / 1000.0, batch_max_rows) if batch_wait_ms > 0 else None

    def start() -> None:
        try:
            slots.load_all()
        except Exception:
            log.exception("endpoint %s: the model did not load", endpoint)
            return
        if inference_log is not None:
            for served in slots.models.values():
                inference_log.add_schema(served.schema)
            inference_log.start()
            inference_log.started.set()
        if alias_lookup is not None:
            slots.follow(poll_interval_s)
        if freeze_gc:
            gc.collect()
            gc.freeze()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loading = threading.Thread(target=start, name="model-loader", daemon=True)
        loading.start()
        app.state.loading = loading
        if load_before_serving:
            await run_in_threadpool(loading.join)
        yield
        slots.stop()
        if background:
            await asyncio.wait(background, timeout=10)
        loading.join()
        if inference_log is not None and inference_log.started.is_set():
            await run_in_threadpool(inference_log.close)

    def ready() -> bool:
        return slots.ready and (inference_log is None or inference_log.started.is_set())

    async def invocations(request: Request) -> Response:
        started = time.perf_counter()
        request_id = next_id()
        if not ready():
            problem = slots.error or "the model is loading"
            return _error(503, f"endpoint {endpoint!r} is not ready: {problem}", request_id)
        variant, served = slots.pick()
        rows: Rows | None = None
        logged: tuple[list[str], list[list[Any]]] | None = None
        predictions: list[Any] | None = None
        status, kind, message = 200, None, None
        try:
            body = await _body(request, limits.max_body_bytes)
            rows = parse_body(body, request.headers.get("content-type", "application/json"))
            if not rows.rows:
                raise ServingInputError(
                    "the request has no rows: send at least one", status=400, kind="malformed"
                )
            if len(rows.rows) > limits.max_rows:
                raise ServingInputError(
                    f"{len(rows.rows)} rows; the limit is {limits.max_rows} per request",
                    status=413,
                    kind="too_large",
                )
            logged = context.take(rows) if context is not None else None
            if feature_fill is not None and _may_fill(feature_fill, served, rows):
                rows = await run_in_threadpool(feature_fill, served, rows)
            if logged is not None and context is not None:
                rows = context.drop(rows, served.schema.names if served.schema else None)
            rows = conform(rows, served.schema, allow_missing=limits.allow_missing)
            if served.fast is not None and len(rows.rows) <= limits.inline_rows:
                predictions = jsonable(served.predict(rows.columns, rows.rows, rows.params))
            elif batcher is not None and not rows.params:
                predictions = await batcher.predict(served, rows.columns, rows.rows)
            else:
                output = await run_in_threadpool(
                    served.predict, rows.columns, rows.rows, rows.params
                )
                predictions = jsonable(output)
        except ServingInputError as exc:
            status, kind, message = exc.status, exc.kind, str(exc)
        except Exception as exc:
            status, kind, message = _model_failure(exc)
        elapsed = time.perf_counter() - started
        if inference_log is not None:
            inference_log.record(
                {
                    "id": request_id,
                    "ts": time.time_ns() // 1000,
                    "model": served.name,
                    "version": served.version,
                    "variant": variant,
                    "status": status,
                    "latency_ms": elapsed * 1000.0,
                    "error": message,
                    **_logged_rows(rows if status == 200 else None, logged),
                    "outputs": predictions,
                }
            )
        metrics.observe(status, elapsed, kind)
        if status != 200:
            return _error(status, message or "", request_id)
        assert predictions is not None and rows is not None
        metrics.predictions(predictions, variant)
        shadow = slots.models.get("shadow")
        if shadow is not None:
            task = asyncio.ensure_future(_shadow(shadow, rows, request_id))
            background.add(task)
            task.add_done_callback(background.discard)
        return _json({"predictions": predictions}, headers={"X-Request-ID": request_id})

    def _logged_rows(
        rows: Rows | None, logged: tuple[list[str], list[list[Any]]] | None
    ) -> dict[str, Any]:
        """The record's `columns` and `rows`: the model's inputs, then the context columns."""
        if rows is None:
            return {"columns": None, "rows": None}
        if logged is None or rows.columns is None:
            return {"columns": rows.columns, "rows": rows.rows}
        names, values = logged
        extra = [i for i, n in enumerate(names) if n not in rows.columns]
        return {
            "columns": rows.columns + [names[i] for i in extra],
            "rows": [r + [v[i] for i in extra] for r, v in zip(rows.rows, values, strict=True)],
        }

    async def _shadow(shadow: ServedModel, rows: Rows, request_id: str) -> None:
        started = time.perf_counter()
        status, message, predictions = 200, None, None
        try:
            checked = conform(rows, shadow.schema, allow_missing=limits.allow_missing)
            output = await run_in_threadpool(shadow.predict, checked.columns, checked.rows)
            predictions = jsonable(output)
        except Exception as exc:
            status, message = 500, str(exc)
        if inference_log is not None:
            inference_log.record(
                {
                    "id": request_id,
                    "ts": time.time_ns() // 1000,
                    "model": shadow.name,
                    "version": shadow.version,
                    "variant": "shadow",
                    "status": status,
                    "latency_ms": (time.perf_counter() - started) * 1000.0,
                    "error": message,
                    "columns": rows.columns if status == 200 else None,
                    "rows": rows.rows if status == 200 else None,
                    "outputs": predictions,
                }
            )
        if predictions is not None:
            metrics.predictions(predictions, "shadow")

    async def health(request: Request) -> Response:
        return _json({"status": "ok"})

    async def ready_route(request: Request) -> Response:
        if ready():
            served = slots.models["production"]
            return _json({"status": "ready", "model": served.name, "version": served.version})
        return _json({"status": "loading", "error": slots.error}, 503)

    async def metrics_route(request: Request) -> Response:
        if inference_log is not None:
            metrics.log_backlog.set(inference_log.backlog)
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    async def openapi(request: Request) -> Response:
        served = slots.models.get("production")
        return _json(openapi_document(endpoint, None if served is None else served.schema))

    app = _App(
        invocations,
        routes=[
            Route("/invocations", invocations, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/ping", health, methods=["GET"]),
            Route("/ready", ready_route, methods=["GET"]),
            Route("/metrics", metrics_route, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.slots = slots
    app.state.metrics = metrics
    app.state.inference_log = inference_log
    return app


class _App(Starlette):
    """Starlette, with `POST /invocations` answered without the middleware and the router.

    The scoring route is the one that has to be fast: the exception middlewares and the route
    match are a tenth of a single-row request's time. `invocations` handles its own errors
    (4xx, and 500 for a model failure); an error it does not handle is answered with 500 here.
    With middleware added (`add_middleware`), every request takes the usual way.
    """

    def __init__(
        self, invocations: Callable[[Request], Awaitable[Response]], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._invocations = invocations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/invocations"
            and scope["method"] == "POST"
            and not scope.get("root_path")
            and not self.user_middleware  # added middleware (auth, say) sees every request
        ):
            scope["app"] = self
            try:
                response = await self._invocations(Request(scope, receive))
            except Exception:
                log.exception("answering a scoring request failed")
                response = _error(500, "internal server error", "")
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _request_ids() -> Callable[[], str]:
    """Request ids: 32 hex digits, a random prefix per app and a counter (no system call per
    request, as `uuid4` makes)."""
    prefix = os.urandom(8).hex()
    counter = itertools.count()
    return lambda: f"{prefix}{next(counter):016x}"


def _may_fill(fill: FeatureFill, served: ServedModel, rows: Rows) -> bool:
    """False when the filler says, without I/O, that it has nothing to do (no thread hop)."""
    needs = getattr(fill, "needs_lookup", None)
    return True if needs is None else bool(needs(served, rows))


def _model_failure(exc: Exception) -> tuple[int, str, str]:
    """A model error: MLflow's schema enforcement is the client's fault (422), else 500."""
    if type(exc).__name__ == "MlflowException":
        code = str(getattr(exc, "error_code", ""))
        if code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"):
            return 422, "schema", str(getattr(exc, "message", exc))
    log.exception("the model failed to score a request")
    return 500, "model", f"the model failed: {type(exc).__name__}: {exc}"
