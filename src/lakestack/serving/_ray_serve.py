"""`lakestack serve` for an endpoint with `engine: ray`: a Ray Serve deployment that scales.

The command joins the environment's Ray (`engine: ray://host:port` through Ray Client; `local`
or `ray` start or join a Ray on this machine, as the pipelines' Ray engine does), starts Serve
with its HTTP proxy on `host:port`, and deploys the application `lakestack-<endpoint>` at the
route prefix `/`: replicas of `EndpointReplica` (`_ray_replica.py`), between
`autoscaling.min_replicas` and `max_replicas`, each reserving `replica_cpus` of the cluster.
Serve adds a replica when the requests in progress or queued per replica stay above
`target_ongoing_requests` for `upscale_delay_s`, and removes one when they stay below it for
`downscale_delay_s`.

It then logs each change of the replicas (`endpoint <name> replicas: {'RUNNING': 2}`) until
SIGINT or SIGTERM, deletes the application (Serve lets every replica finish
its requests and flush its inference log) and, when no other application is left, shuts
Serve down. The replicas must see the project folder at the same path (one machine,
or a shared file system), as the pipelines' Ray tasks do; they get the `LAKESTACK_*` variables
and those lakestack.yaml names with `${VAR}` from this process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import threading
from typing import TYPE_CHECKING, Any

from lakestack.errors import PipelineError, ServingError

if TYPE_CHECKING:
    from lakestack.config import AutoscalingConfig, Project

__all__ = ["app_name", "serve_on_ray", "serve_options"]

log = logging.getLogger("lakestack.serving")

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
_SHUTDOWN_S = 30.0  # what a replica has to finish its requests and flush its log
_WATCH_S = 5.0  # seconds between two reads of the application's status


def app_name(endpoint: str) -> str:
    """The Serve application of an endpoint: `lakestack-<endpoint>`."""
    return f"lakestack-{endpoint}"


def serve_options(endpoint: str, scaling: AutoscalingConfig, env_vars: dict[str, str]) -> Any:
    """The options of the endpoint's Serve deployment (`serve.deployment(...)` keywords)."""
    return {
        "name": endpoint,
        "autoscaling_config": {
            "min_replicas": scaling.min_replicas,
            "max_replicas": scaling.max_replicas,
            "target_ongoing_requests": scaling.target_ongoing_requests,
            "upscale_delay_s": scaling.upscale_delay_s,
            "downscale_delay_s": scaling.downscale_delay_s,
            "look_back_period_s": scaling.look_back_period_s,
        },
        "max_ongoing_requests": scaling.max_ongoing_requests,
        "ray_actor_options": {
            "num_cpus": scaling.replica_cpus,
            "runtime_env": {"env_vars": env_vars},
        },
        "graceful_shutdown_timeout_s": _SHUTDOWN_S,
    }


def serve_on_ray(project: Project, name: str, environment: str, *, host: str, port: int) -> None:
    """Deploy `endpoints.<name>` on Ray Serve and serve until SIGINT/SIGTERM.

    Raises:
        ServingError: Ray is not installed, cannot be reached, or the deployment failed.
    """
    from lakestack.pipelines import create_engine

    config = project.config.endpoints[name]
    env = project.environment(environment)
    spec = "ray" if env.engine == "local" else env.engine
    try:
        engine = create_engine(spec)
        engine.start(1)  # connects, or starts a local Ray in this process
    except PipelineError as exc:
        raise ServingError(f"endpoint {name!r} has engine: ray, and {exc}") from None
    except Exception as exc:  # a local Ray that did not start (Ray raises a bare Exception)
        raise ServingError(
            f"endpoint {name!r} has engine: ray, and Ray did not start on this machine: {exc} "
            "(Ray gives its processes 30 s to start; a busy machine can run out of it). Try "
            "again, or start a cluster (`ray start --head`) and name it in the environment's "
            "`engine: ray://host:port`."
        ) from None
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        _deploy(project, name, environment, config.replicas, host=host, port=port)
        log.warning("endpoint %s serves on Ray Serve at http://%s:%d (%s)", name, host, port, spec)
        _watch(name, stop)
    finally:
        _undeploy(name)
        engine.close()  # a Ray this process started stops with it


def _deploy(
    project: Project,
    name: str,
    environment: str,
    scaling: AutoscalingConfig,
    *,
    host: str,
    port: int,
) -> None:
    from ray import serve

    from lakestack.serving._ray_replica import EndpointReplica

    serve.start(http_options={"host": host, "port": port}, proxy_location="HeadOnly")
    deployment = serve.deployment(**serve_options(name, scaling, _forwarded_env(project)))(
        EndpointReplica
    )
    try:
        serve.run(
            deployment.bind(str(project.root), name, environment),
            name=app_name(name),
            route_prefix="/",
            blocking=False,
        )
    except Exception as exc:
        raise ServingError(
            f"the Ray Serve deployment of endpoint {name!r} failed: {exc}. The replicas' "
            "logs are in the Ray session's logs/serve folder."
        ) from exc


def _watch(name: str, stop: threading.Event) -> None:
    """Until `stop`: log each change of the replicas' states (the autoscaler at work); return
    when the application was deleted by someone else."""
    from ray import serve

    seen: dict[str, int] | None = None
    while not stop.wait(_WATCH_S):
        try:
            app = serve.status().applications.get(app_name(name))
        except Exception as exc:  # the cluster is busy or restarting: Serve keeps serving
            log.warning("reading Ray Serve's status failed: %s", exc)
            continue
        if app is None:
            log.warning("the Serve application %s was deleted: stopping", app_name(name))
            return
        deployment = app.deployments.get(name)
        states = {} if deployment is None else deployment.replica_states
        now = {str(state).rsplit(".", 1)[-1]: count for state, count in states.items() if count}
        if now != seen:
            log.warning("endpoint %s replicas: %s", name, now or "none")
            seen = now


def _undeploy(name: str) -> None:
    """Delete the application (its replicas drain and flush); shut Serve down when no
    application is left."""
    from ray import serve as ray_serve

    serve: Any = ray_serve  # `shutdown` has no annotations

    with contextlib.suppress(Exception):
        serve.delete(app_name(name))
    with contextlib.suppress(Exception):
        if not serve.status().applications:
            serve.shutdown()


def _forwarded_env(project: Project) -> dict[str, str]:
    """The variables a replica needs from this process: `LAKESTACK_*`, and those the project
    file reads with `${VAR}`."""
    text = project.file.read_text(encoding="utf-8")
    names = set(_VAR.findall(text))
    return {
        key: value
        for key, value in os.environ.items()
        if key.startswith("LAKESTACK_") or key in names
    }
