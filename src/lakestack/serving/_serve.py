"""An endpoint of lakestack.yaml, built into an `Endpoint` and run under uvicorn."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lakestack.errors import ServingError
from lakestack.serving._context import ContextColumns
from lakestack.serving._endpoint import Limits, Tuning, create_app
from lakestack.serving._state import Traffic

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from lakestack.config import EndpointConfig, Project
    from lakestack.registry import LoadedModel

__all__ = ["endpoint_app", "serve", "spool_root"]

_ENV_PROJECT = "LAKESTACK_SERVE_PROJECT"
_ENV_ENDPOINT = "LAKESTACK_SERVE_ENDPOINT"
_ENV_ENVIRONMENT = "LAKESTACK_SERVE_ENV"
_ENV_WORKERS = "LAKESTACK_SERVE_WORKERS"
# with `auth: token`; health (`/health`, `/v2/health/*`) and `/v2` stay open
_TOKEN_PATHS = ("/invocations", "/v2/models", "/metrics")


def _config(project: Project, name: str) -> EndpointConfig:
    try:
        return project.config.endpoints[name]
    except KeyError:
        known = ", ".join(project.config.endpoints) or "none"
        raise ServingError(
            f"{project.file}: no endpoint {name!r}; declared endpoints: {known}. "
            f"Add `endpoints.{name}` with its model to lakestack.yaml."
        ) from None


def spool_root(project: Project, environment: str, endpoint: str) -> Path:
    """Where an endpoint's processes spool inference records before Delta."""
    return project.state_dir / environment / "serving" / endpoint / "spool"


def endpoint_app(
    project: Project,
    name: str,
    environment: str | None = None,
    *,
    workers: int = 1,
    load_before_serving: bool = False,
    freeze_gc: bool = False,
    model_threads: int | None = None,
) -> Starlette:
    """The ASGI app of `endpoints.<name>` in an environment.

    It serves the version holding the endpoint's `stage` alias (waiting, not ready, while no
    version holds it), follows the alias, splits
    traffic as `traffic` says, looks features up by key when the model has a feature spec,
    and logs every request to `inference.<name>` (unless `log_inference: false`). With
    several `workers` sharing a socket, each loads its model before accepting connections,
    so no request reaches a worker that is still loading (as with `load_before_serving`: a
    Ray Serve replica).

    Raises:
        ServingError: no such endpoint, or an invalid traffic policy.
    """
    from lakestack.registry import ModelRegistry
    from lakestack.serving._features import FeatureFiller
    from lakestack.serving._inference_log import InferenceLog

    config = _config(project, name)
    env = project.environment(environment)
    registry = ModelRegistry(project, env.name)
    traffic = Traffic.from_config(config.stage, dict(config.traffic))

    def loader(ref: str | int) -> LoadedModel:
        return registry.load_model(config.model, ref)

    def alias_lookup(alias: str) -> int | None:
        holder = registry.alias_holder(config.model, alias)
        return None if holder is None else holder.version

    context = ContextColumns(dict(config.context_columns)) if config.context_columns else None
    log = None
    if config.log_inference:
        log = InferenceLog(
            registry.lake,
            name,
            spool_root(project, env.name, name),
            interval_s=config.log_interval_s,
            fsync=config.log_fsync,
            optimize_every=config.log_optimize_every,
        )
        if context is not None:
            log.add_types(context.value_types)
    app = create_app(
        loader,
        endpoint=name,
        traffic=traffic,
        inference_log=log,
        limits=Limits(
            max_body_bytes=config.max_body_bytes,
            max_rows=config.max_rows,
            allow_missing=config.allow_missing,
        ),
        alias_lookup=alias_lookup if config.poll_interval_s > 0 else None,
        model=f"{config.model} in {env.name}",
        feature_fill=FeatureFiller(project, env.name, unknown_keys=config.unknown_keys),
        context=context,
        tuning=Tuning(
            batch_wait_ms=config.batch_wait_ms,
            batch_max_rows=config.batch_max_rows,
            load_before_serving=load_before_serving or workers > 1,
            freeze_gc=freeze_gc,
            model_threads=model_threads,
            poll_interval_s=config.poll_interval_s or 30.0,
        ),
    )
    if config.auth == "token":  # refused before the app sees it: not scored, not logged
        from lakestack.access import BearerAuth, TokenGate

        app.add_middleware(BearerAuth, gate=TokenGate(project, env.name), paths=_TOKEN_PATHS)
    return app


def app_from_env() -> Starlette:
    """The uvicorn factory of `serve`: the endpoint named by `LAKESTACK_SERVE_*`."""
    from lakestack.config import load_project

    project = load_project(os.environ[_ENV_PROJECT])
    # The event loop shares the GIL with the inference log's writer thread: each time the
    # loop lets go of it (a system call), taking it back can wait out the switch interval
    # while the writer builds a batch; 0.5 ms instead of 5 ms bounds that wait.
    sys.setswitchinterval(0.0005)
    return endpoint_app(
        project,
        os.environ[_ENV_ENDPOINT],
        os.environ[_ENV_ENVIRONMENT],
        workers=int(os.environ.get(_ENV_WORKERS, "1")),
        freeze_gc=True,  # a serving process: see `Tuning`
        model_threads=1,  # one request per thread: see `Tuning`
    )


def serve(
    project: Project,
    name: str,
    environment: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    workers: int | None = None,
    log_level: str = "info",
) -> None:
    """Run an endpoint under uvicorn until SIGINT/SIGTERM (then in-flight requests finish
    and the inference log is flushed); with `engine: ray`, as a Ray Serve deployment
    (`_ray_serve.py`).

    Args:
        port: default `endpoints.<name>.port`.
        workers: processes (default `endpoints.<name>.workers`); each has its own spool.
    """
    import uvicorn

    from lakestack.access import authorize

    config = _config(project, name)
    env = project.environment(environment)
    authorize(project, "endpoint.serve", env.name, obj=name)
    if config.engine == "ray":
        from lakestack.serving._ray_serve import serve_on_ray

        if workers not in (None, 1):
            raise ServingError(
                f"endpoint {name!r} has engine: ray, whose replicas come from its "
                "`autoscaling`: leave --workers out"
            )

        serve_on_ray(project, name, env.name, host=host, port=port or config.port)
        return
    os.environ[_ENV_PROJECT] = str(project.root)
    os.environ[_ENV_ENDPOINT] = name
    os.environ[_ENV_ENVIRONMENT] = env.name
    workers = workers or config.workers
    os.environ[_ENV_WORKERS] = str(workers)
    uvicorn.run(
        "lakestack.serving._serve:app_from_env",
        factory=True,
        host=host,
        port=port or config.port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        # the endpoint reads no client address: uvicorn's X-Forwarded-For middleware would
        # only cost each request its call
        proxy_headers=False,
        timeout_graceful_shutdown=30,
        loop=_pick("uvloop", "uvloop"),
        http=_pick("httptools", "lakestack.serving._one_write:OneWriteProtocol"),
    )


def _pick(module: str, choice: str) -> str:
    """`choice` when `module` imports (uvloop's event loop; httptools' C parser, under
    `OneWriteProtocol`: uvicorn's httptools protocol writing a response at once), else
    uvicorn's `auto` (asyncio, h11)."""
    import importlib.util

    return choice if importlib.util.find_spec(module) is not None else "auto"
