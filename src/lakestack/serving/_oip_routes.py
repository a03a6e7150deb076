"""The Open Inference Protocol's routes on an endpoint: health, metadata and inference.

| route | answer |
|---|---|
| `GET /v2` | the server's name, version and extensions |
| `GET /v2/health/live` | 200 while the process serves |
| `GET /v2/health/ready` | 200 once the production model is loaded, else 503 |
| `GET /v2/models/<name>[/versions/<v>]` | the model's inputs and outputs, OIP datatypes |
| `GET /v2/models/<name>[/versions/<v>]/ready` | 200 when that model is loaded |
| `POST /v2/models/<name>[/versions/<v>]/infer` | `Endpoint.handle` with an `OipDoor` |

`<name>` is the registered model's name or the endpoint's; `<v>` a version that production
or canary serves. An unknown name or version is a 404 with the protocol's error body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute, Route

from lakestack import __version__
from lakestack.serving._http import json_response
from lakestack.serving._oip import OUTPUT, OipDoor, find_model, oip_error
from lakestack.serving._schema import ServingInputError
from lakestack.serving._types import OIP_DATATYPES, mlflow_type, oip_datatype

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from lakestack.serving._endpoint import Endpoint
    from lakestack.serving._model import ServedModel

__all__ = ["OipRoutes", "model_metadata", "server_metadata"]


def server_metadata() -> dict[str, Any]:
    """`GET /v2`: the server's name, version and protocol extensions."""
    return {"name": "lakestack", "version": __version__, "extensions": ["binary_tensor_data"]}


class OipRoutes:
    """The protocol's routes of one endpoint."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    def routes(self) -> list[BaseRoute]:
        model = "/v2/models/{name}"
        versioned = "/v2/models/{name}/versions/{version}"
        return [
            Route("/v2", self.server, methods=["GET"]),
            Route("/v2/health/live", self.live, methods=["GET"]),
            Route("/v2/health/ready", self.ready, methods=["GET"]),
            *(Route(p, self.metadata, methods=["GET"]) for p in (model, versioned)),
            *(Route(f"{p}/ready", self.model_ready, methods=["GET"]) for p in (model, versioned)),
            *(Route(f"{p}/infer", self.infer, methods=["POST"]) for p in (model, versioned)),
        ]

    async def server(self, request: Request) -> Response:
        return json_response(server_metadata())

    async def live(self, request: Request) -> Response:
        return json_response({"live": True})

    async def ready(self, request: Request) -> Response:
        if self.endpoint.ready:
            return json_response({"ready": True})
        status, body = self.endpoint.readiness()
        return json_response({"ready": False, "error": body.get("error")}, status)

    async def metadata(self, request: Request) -> Response:
        found = self._find(request)
        if isinstance(found, tuple):
            served = found[1]
            slots = self.endpoint.slots.models
            versions = sorted({str(m.version) for v, m in slots.items() if v != "shadow"})
            return json_response(model_metadata(served, versions))
        return found

    async def model_ready(self, request: Request) -> Response:
        found = self._find(request)
        if isinstance(found, tuple):
            served = found[1]
            return json_response({"name": served.name, "ready": True})
        return found

    async def infer(self, request: Request) -> Response:
        """The way `FastApp` does not take (with middleware, such as `auth: token`)."""
        params = request.path_params
        door = OipDoor(self.endpoint.name, params["name"], params.get("version"))
        return await self.endpoint.handle(request, door)

    def _find(self, request: Request) -> tuple[str, ServedModel] | Response:
        """The model a path names, or the error answer (503 before it is loaded, 404)."""
        if not self.endpoint.ready:
            status, body = self.endpoint.readiness()
            return oip_error(
                status, f"endpoint {self.endpoint.name!r} is not ready: {body['error']}"
            )
        params = request.path_params
        try:
            return find_model(
                self.endpoint.slots, self.endpoint.name, params["name"], params.get("version")
            )
        except ServingInputError as exc:
            return oip_error(exc.status, str(exc))


def model_metadata(served: ServedModel, versions: list[str]) -> dict[str, Any]:
    """`GET /v2/models/<name>`: the inputs (the signature's columns, with their OIP datatype)
    and outputs."""
    inputs: list[dict[str, Any]] = []
    if served.schema is not None:
        inputs = [
            {"name": c.name, "datatype": oip_datatype(c.type), "shape": [-1]}
            for c in served.schema.columns
        ]
    return {
        "name": served.name,
        "versions": versions,
        "platform": "mlflow",
        "inputs": inputs,
        "outputs": _output_metadata(served),
    }


def _output_metadata(served: ServedModel) -> list[dict[str, Any]]:
    """The outputs the signature states: one tensor per named output column (a model
    answering a DataFrame), else one tensor `predict`."""
    outputs = getattr(served.loaded.signature, "outputs", None)
    specs = list(getattr(outputs, "inputs", None) or [])
    if outputs is None or not specs:
        return [{"name": OUTPUT, "datatype": "FP64", "shape": [-1]}]
    if outputs.is_tensor_spec():
        spec = specs[0]
        shape = [-1, *[int(d) for d in list(spec.shape)[1:]]] if spec.shape else [-1]
        return [{"name": OUTPUT, "datatype": _numpy_datatype(spec.type), "shape": shape}]
    kinds = [mlflow_type(str(getattr(spec.type, "name", spec.type))) for spec in specs]
    if outputs.has_input_names():
        return [
            {"name": spec.name, "datatype": oip_datatype(kind), "shape": [-1]}
            for spec, kind in zip(specs, kinds, strict=True)
        ]
    shape = [-1] if len(specs) == 1 else [-1, len(specs)]
    return [{"name": OUTPUT, "datatype": oip_datatype(kinds[0]), "shape": shape}]


def _numpy_datatype(dtype: Any) -> str:
    """The OIP datatype of a NumPy dtype (BYTES for text and objects)."""
    import numpy as np

    for name, datatype in OIP_DATATYPES.items():
        if name != "BYTES" and np.dtype(datatype.numpy) == np.dtype(dtype):
            return name
    return "BYTES"
