"""One replica of an endpoint's Ray Serve deployment: the endpoint's own ASGI app.

Serve builds the app in the replica process (`__serve_build_asgi_app__`), runs its lifespan
(the model loads before the replica is marked running, so Serve routes no request to a replica
that is still loading) and, when it removes the replica, its shutdown (in-flight requests
finish, the inference log is flushed and its spool removed). Every replica is the same
`Endpoint` that `lakestack serve` runs under uvicorn: routes, auth, feature lookups and
logging. Each one has a spool folder of its own under the endpoint's spool root; a replica that
dies leaves its folder unlocked, and a survivor or a new replica replays it (`_spool.py`).

This module imports Ray Serve: only `_ray_serve.py` imports it, when an endpoint has
`engine: ray`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ray import serve

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["EndpointReplica"]


@serve.ingress()
class EndpointReplica:
    """A Serve deployment class whose ASGI app is `endpoint_app(project, endpoint, env)`.

    Args:
        root: the project folder (the same path on every node: a shared file system, or one
            machine).
        endpoint: the endpoint's name in lakestack.yaml.
        environment: the environment it serves from.
    """

    def __init__(self, root: str, endpoint: str, environment: str) -> None:
        self.root = root
        self.endpoint = endpoint
        self.environment = environment

    def __serve_build_asgi_app__(self) -> Starlette:
        from lakestack.config import load_project
        from lakestack.serving._serve import endpoint_app

        return endpoint_app(
            load_project(self.root),
            self.endpoint,
            self.environment,
            load_before_serving=True,
            freeze_gc=True,  # a process that only serves: see `Tuning`
        )
