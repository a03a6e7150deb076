"""The online endpoint: an object answering scoring requests (MLflow's, the OIP's), logging each.

`Endpoint` holds the parts, each of which can be read, tested and profiled by name:

- `slots` (`_state.py`): the loaded models by variant (production, canary, shadow), swapped
  live when the registry's aliases move;
- `respond`: a scoring request of any protocol, parsed by a front door (`MlflowDoor`, `OipDoor`
  for `/v2/models/<name>/infer`), checked (`rows`), scored (`score`), logged, answered;
- `shadow`: the shadow variant scoring an answered request, logged and not returned;
- `readiness`: what `GET /ready` answers;
- `records` (`_record.py`): the one builder of inference records;
- `routes()`: the routes of the ASGI app `app` (and the OIP's); a subclass adds its own.

`create_app` builds one from a model loader and returns its ASGI app.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from lakestack.serving._door import FrontDoor
from lakestack.serving._http import (
    BodyReader,
    FastApp,
    asgi_body,
    json_response,
    read_body,
    request_ids,
    scope_headers,
    send_response,
)
from lakestack.serving._metrics import EndpointMetrics
from lakestack.serving._microbatch import MicroBatcher
from lakestack.serving._model import ServedModel, jsonable, limit_threads
from lakestack.serving._oip import OipDoor
from lakestack.serving._oip_routes import OipRoutes
from lakestack.serving._openapi import openapi_document
from lakestack.serving._payload import MLFLOW_DOOR, Rows, conform
from lakestack.serving._record import Context, InferenceRecords
from lakestack.serving._schema import ServingInputError
from lakestack.serving._state import ModelSlots, Traffic

if TYPE_CHECKING:
    from lakestack.registry import LoadedModel
    from lakestack.serving._context import ContextColumns
    from lakestack.serving._inference_log import InferenceLog

__all__ = ["Endpoint", "Limits", "Tuning", "create_app"]

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


@dataclass(frozen=True)
class Tuning:
    """How an endpoint scores and starts.

    Attributes:
        fast_path: score LightGBM and scikit-learn models on NumPy arrays.
        batch_wait_ms: micro-batching of the requests scored in a worker thread (no NumPy
            fast path, or more than `Limits.inline_rows` rows) without `params`, to the same
            model version, in one `predict` call (see `_microbatch.py`). None (the default):
            the requests that arrive while the model is scoring gather and are scored
            together next, with no wait; above 0: the first waits at most this many
            milliseconds for others; 0: each request is scored alone.
        batch_max_rows: a micro-batch is scored as soon as it has this many rows.
        load_before_serving: finish loading (or failing to load) before accepting connections:
            what several workers sharing one socket need, since a probe of `/ready` reaches
            only one of them.
        freeze_gc: once loaded, move every object to the garbage collector's permanent
            generation, so that its full collections do not walk the loaded libraries and
            model (tens of milliseconds each, which every in-flight request waits out). For a
            process that only serves; tests leave it off.
        poll_interval_s: seconds between checks of the aliases (with an alias lookup).
        model_threads: once the models are loaded, score with at most this many threads in
            the numeric libraries' pools (OpenMP, BLAS; `limit_threads`, process-wide);
            None leaves them.
            A request's few rows gain nothing from a team of threads, and on a busy machine
            the team waits for its slowest member (a HistGradientBoosting Pipeline's
            single-row predict: 90 to 217 ms with 2 OpenMP threads, 5 to 20 ms with one,
            while other processes kept both cores busy). `lakestack serve` uses 1.
    """

    fast_path: bool = True
    batch_wait_ms: float | None = None
    batch_max_rows: int = 256
    load_before_serving: bool = False
    freeze_gc: bool = False
    poll_interval_s: float = 30.0
    model_threads: int | None = None


class Endpoint:
    """One online endpoint: its models, its request handling and its inference log.

    The models are loaded in a background thread at start-up: `/health` answers at once,
    `/ready` and `/invocations` once the production model is loaded.

    Args:
        slots: the models by variant, with their loader (and alias lookup, to follow the
            registry).
        name: the endpoint's name (metrics labels, the inference table).
        inference_log: where every request is logged (None: not logged).
        limits: request limits.
        feature_fill: looks missing feature columns up by the request's entity keys.
        context: request columns logged with each row but not given to the model.
        tuning: how it scores and starts.
    """

    def __init__(
        self,
        slots: ModelSlots,
        *,
        name: str = "model",
        inference_log: InferenceLog | None = None,
        limits: Limits | None = None,
        feature_fill: FeatureFill | None = None,
        context: ContextColumns | None = None,
        tuning: Tuning | None = None,
    ) -> None:
        self.name = name
        self.slots = slots
        self.metrics = slots.metrics or EndpointMetrics(name)
        slots.metrics = self.metrics
        self.log = inference_log
        self.records = None if inference_log is None else InferenceRecords(inference_log)
        self.limits = limits or Limits()
        self.feature_fill = feature_fill
        # False when the filler says, without I/O, that it has nothing to do (no thread hop)
        self._needs_lookup: Callable[[ServedModel, Rows], bool] | None = getattr(
            feature_fill, "needs_lookup", None
        )
        self.context = context
        self.tuning = tuning or Tuning()
        wait = self.tuning.batch_wait_ms
        self.batcher = (
            None if wait == 0 else MicroBatcher((wait or 0) / 1000.0, self.tuning.batch_max_rows)
        )
        self.error: str | None = None
        self._next_id = request_ids()
        self._background: set[asyncio.Future[Any]] = set()
        if inference_log is not None:
            slots.on_load.append(lambda served: inference_log.add_schema(served.schema))
            self.metrics.watch(inference_log)
        self.app = FastApp(
            self.invocations_asgi, self.oip_asgi, routes=self.routes(), lifespan=self._lifespan
        )
        self.app.state.endpoint = self

    # -- life ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Load the models, open the inference log, follow the registry (the loading thread)."""
        try:
            self.slots.load_all()
            if self.log is not None:
                self.log.start()
        except Exception as exc:
            self.error = self.slots.error or f"the inference log did not open: {exc}"
            log.exception("endpoint %s did not start", self.name)
            return
        if self.slots.alias_lookup is not None:
            self.slots.follow(self.tuning.poll_interval_s)
        if self.tuning.model_threads:
            limit_threads(self.tuning.model_threads)
        if self.tuning.freeze_gc:
            gc.collect()
            gc.freeze()

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        loading = threading.Thread(target=self.start, name="model-loader", daemon=True)
        loading.start()
        if self.tuning.load_before_serving:
            await run_in_threadpool(loading.join)
        yield
        self.slots.stop()
        if self._background:
            await asyncio.wait(self._background, timeout=10)
        loading.join()
        if self.log is not None and self.log.started.is_set():
            await run_in_threadpool(self.log.close)

    @property
    def ready(self) -> bool:
        """Whether requests are scored: the production model is loaded and the log open."""
        return self.slots.ready and (self.log is None or self.log.started.is_set())

    def readiness(self) -> tuple[int, dict[str, Any]]:
        """`/ready`: 200 with the version served and the inference log's state, else 503.

        A log that cannot write yet (a replay or an append failing) keeps the endpoint
        serving: its records wait in the spool, and `error` says what fails.
        """
        if not self.ready:
            if self.slots.waiting:
                return 503, {"status": "waiting", "error": self.slots.waiting}
            return 503, {"status": "loading", "error": self.slots.error or self.error}
        served = self.slots.models["production"]
        body: dict[str, Any] = {"status": "ready", "model": served.name, "version": served.version}
        if self.log is not None:
            body["error"] = self.log.error
            body["inference_log"] = {
                "backlog": self.log.backlog,
                "replay_pending": self.log.replay_pending,
                "rejected": self.log.rejected,
                "error": self.log.error,
            }
        return 200, body

    # -- scoring ------------------------------------------------------------------------------

    async def invocations(self, request: Request) -> Response:
        """`POST /invocations`: an MLflow scoring payload, answered and logged."""
        return await self.handle(request, MLFLOW_DOOR)

    async def invocations_asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """`POST /invocations` in plain ASGI: the short way `FastApp` takes."""
        read = asgi_body(scope, receive, self.limits.max_body_bytes)
        response = await self.respond(read, scope_headers(scope), MLFLOW_DOOR)
        await send_response(send, response)

    async def oip_asgi(
        self, scope: Scope, receive: Receive, send: Send, name: str, version: str | None
    ) -> None:
        """`POST /v2/models/<name>[/versions/<version>]/infer` in plain ASGI (`FastApp`)."""
        read = asgi_body(scope, receive, self.limits.max_body_bytes)
        door = OipDoor(self.name, name, version)
        await send_response(send, await self.respond(read, scope_headers(scope), door))

    async def handle(self, request: Request, door: FrontDoor) -> Response:
        """Answer a Starlette request that `door` parses and answers (see `respond`)."""
        return await self.respond(
            read_body(request, self.limits.max_body_bytes), request.headers, door
        )

    async def respond(
        self, read: BodyReader, headers: Mapping[str, str], door: FrontDoor
    ) -> Response:
        """Answer a scoring request that `door` parses and answers, and log it (every status
        but 503): the one request pipeline of every protocol the endpoint speaks.

        Args:
            read: reads the request's body within the endpoint's limit.
            headers: the request's headers by lower-case name.
        """
        started = time.perf_counter()
        request_id = self._next_id()
        if not self.ready:
            problem = self.slots.waiting or self.slots.error or self.error
            problem = problem or "the model is loading"
            return door.error(503, f"endpoint {self.name!r} is not ready: {problem}", request_id)
        variant, served = self.slots.pick()
        raw: Rows | None = None
        rows: Rows | None = None
        context: Context | None = None
        predictions: list[Any] | None = None
        answer: Response | None = None
        status, kind, message = 200, None, None
        try:
            variant, served = door.route(self.slots, (variant, served))
            body = await read()
            raw, rows, context = await self.rows(door.parse(body, headers, served), served)
            predictions = await self.score(served, rows)
            answer = door.answer(predictions, served, request_id)
        except ServingInputError as exc:
            status, kind, message = exc.status, exc.kind, str(exc)
        except Exception as exc:
            status, kind, message = _model_failure(exc)
        elapsed = time.perf_counter() - started
        if self.records is not None:
            self.records.add(
                request_id,
                variant,
                served,
                status=status,
                seconds=elapsed,
                error=message,
                rows=rows,
                context=context,
                outputs=predictions if status == 200 else None,
            )
        self.metrics.observe(status, elapsed, kind)
        if answer is None:
            return door.error(status, message or "", request_id)
        assert predictions is not None and raw is not None
        self.metrics.predictions(predictions, variant)
        shadow = self.slots.models.get("shadow")
        if shadow is not None:
            task = asyncio.ensure_future(self.shadow(shadow, raw, context, request_id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return answer

    async def rows(self, rows: Rows, served: ServedModel) -> tuple[Rows, Rows, Context | None]:
        """A parsed request's rows: as sent (with features looked up and context columns
        dropped), and checked into the model's input order; and its context columns.

        Raises:
            ServingInputError: a request that cannot be scored, naming the field.
        """
        if not rows.rows:
            raise ServingInputError(
                "the request has no rows: send at least one", status=400, kind="malformed"
            )
        if len(rows.rows) > self.limits.max_rows:
            raise ServingInputError(
                f"{len(rows.rows)} rows; the limit is {self.limits.max_rows} per request",
                status=413,
                kind="too_large",
            )
        context = self.context.take(rows) if self.context is not None else None
        fill = self.feature_fill
        if fill is not None and (self._needs_lookup is None or self._needs_lookup(served, rows)):
            rows = await run_in_threadpool(fill, served, rows)
        if context is not None and self.context is not None:
            rows = self.context.drop(rows, served.schema.names if served.schema else None)
        return rows, conform(rows, served.schema, allow_missing=self.limits.allow_missing), context

    async def score(self, served: ServedModel, rows: Rows) -> list[Any]:
        """Predictions for checked rows: inline on the NumPy fast path, else micro-batched or
        in a worker thread."""
        if served.fast is not None and len(rows.rows) <= self.limits.inline_rows:
            return jsonable(served.predict(rows.columns, rows.rows, rows.params))
        if self.batcher is not None and not rows.params:
            return await self.batcher.predict(served, rows.columns, rows.rows)
        output = await run_in_threadpool(served.predict, rows.columns, rows.rows, rows.params)
        return jsonable(output)

    async def shadow(
        self, shadow: ServedModel, raw: Rows, context: Context | None, request_id: str
    ) -> None:
        """Score an answered request with the shadow variant; log it, return nothing."""
        started = time.perf_counter()
        status, message = 200, None
        checked: Rows | None = None
        predictions: list[Any] | None = None
        try:
            checked = conform(raw, shadow.schema, allow_missing=self.limits.allow_missing)
            output = await run_in_threadpool(shadow.predict, checked.columns, checked.rows)
            predictions = jsonable(output)
        except ServingInputError as exc:
            status, message = exc.status, str(exc)
        except Exception as exc:
            status, message = 500, f"the shadow model failed: {type(exc).__name__}: {exc}"
        if self.records is not None:
            self.records.add(
                request_id,
                "shadow",
                shadow,
                status=status,
                seconds=time.perf_counter() - started,
                error=message,
                rows=checked,
                context=context,
                outputs=predictions,
            )
        if predictions is not None:
            self.metrics.predictions(predictions, "shadow")

    # -- routes -------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        """The app's routes; `POST /invocations` also takes a short way (see `FastApp`)."""
        return [
            Route("/invocations", self.invocations, methods=["POST"]),
            Route("/health", self._health, methods=["GET"]),
            Route("/ping", self._health, methods=["GET"]),
            Route("/ready", self._ready, methods=["GET"]),
            Route("/metrics", self._metrics, methods=["GET"]),
            Route("/openapi.json", self._openapi, methods=["GET"]),
            *OipRoutes(self).routes(),
        ]

    async def _health(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    async def _ready(self, request: Request) -> Response:
        status, body = self.readiness()
        return json_response(body, status)

    async def _metrics(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type="text/plain; version=0.0.4")

    async def _openapi(self, request: Request) -> Response:
        served = self.slots.models.get("production")
        document = openapi_document(
            self.name,
            None if served is None else served.schema,
            context=self.context,
            allow_missing=self.limits.allow_missing,
        )
        return json_response(document)


def create_app(
    loader: Callable[[str | int], LoadedModel],
    *,
    endpoint: str = "model",
    traffic: Traffic | None = None,
    inference_log: InferenceLog | None = None,
    limits: Limits | None = None,
    alias_lookup: Callable[[str], int | None] | None = None,
    feature_fill: FeatureFill | None = None,
    context: ContextColumns | None = None,
    tuning: Tuning | None = None,
    model: str = "the model",
    **options: Any,
) -> Starlette:
    """The ASGI app of an `Endpoint` serving the models `loader` loads.

    Args:
        loader: loads a model by alias (`"production"`) or version number.
        endpoint: the endpoint's name (metrics labels, the inference table).
        traffic: the aliases answering and mirroring requests (default: `production` only).
        inference_log: where every request is logged (None: not logged).
        limits: request limits.
        alias_lookup: the version an alias points to now; with it the app follows the
            registry, polling every `tuning.poll_interval_s` seconds.
        feature_fill: looks missing feature columns up by the request's entity keys.
        context: request columns logged with each row but not given to the model.
        tuning: how it scores and starts.
        model: what the aliases are of, for messages (`churn in prod`).
        **options: fields of `Tuning` given one by one (`batch_wait_ms=2`, ...).

    Example:
        >>> app = create_app(lambda ref: registry.load_model("flights_delay", ref))
        ... # doctest: +SKIP
    """
    if options:
        tuning = Tuning(**{**(tuning or Tuning()).__dict__, **options})
    tuning = tuning or Tuning()
    slots = ModelSlots(
        loader,
        traffic or Traffic(),
        alias_lookup=alias_lookup,
        metrics=EndpointMetrics(endpoint),
        fast_path=tuning.fast_path,
        model=model,
    )
    return Endpoint(
        slots,
        name=endpoint,
        inference_log=inference_log,
        limits=limits,
        feature_fill=feature_fill,
        context=context,
        tuning=tuning,
    ).app


def _model_failure(exc: Exception) -> tuple[int, str, str]:
    """A model error: MLflow's schema enforcement is the client's fault (422), else 500."""
    if type(exc).__name__ == "MlflowException":
        code = str(getattr(exc, "error_code", ""))
        if code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"):
            return 422, "schema", str(getattr(exc, "message", exc))
    log.exception("the model failed to score a request")
    return 500, "model", f"the model failed: {type(exc).__name__}: {exc}"
