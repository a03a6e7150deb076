"""A front door: one protocol's side of a scoring request.

`Endpoint.respond` is the one request pipeline; a door says which model answers, turns the
body into rows, and writes the answer or the error in its protocol's shape. `MlflowDoor`
(`_payload.py`) serves `POST /invocations`, `OipDoor` (`_oip.py`) the Open Inference
Protocol's `/v2/models/<name>/infer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from starlette.responses import Response

    from lakestack.serving._model import ServedModel
    from lakestack.serving._payload import Rows
    from lakestack.serving._state import ModelSlots

__all__ = ["FrontDoor"]


class FrontDoor(Protocol):
    """A protocol's side of a scoring request (`MlflowDoor`, `OipDoor`): which model answers,
    the body as rows, and the answer or the error in the protocol's shape."""

    def route(
        self, slots: ModelSlots, picked: tuple[str, ServedModel]
    ) -> tuple[str, ServedModel]: ...

    def parse(self, body: bytes, headers: Mapping[str, str], served: ServedModel) -> Rows: ...

    def answer(self, predictions: list[Any], served: ServedModel, request_id: str) -> Response: ...

    def error(self, status: int, message: str, request_id: str) -> Response: ...
