"""The Open Inference Protocol v2 (REST), the protocol of KServe, Seldon MLServer and Triton.

A front door of the endpoint (see `Endpoint.handle`): it reads an inference request into the
same `Rows` an MLflow payload becomes, and writes the predictions as output tensors; checking,
feature lookups, context columns, scoring, traffic and logging are the endpoint's, shared with
`POST /invocations`.

A request carries either one tensor per input column (shape `[rows]` or `[rows, 1]`, named as
the column; entity keys and context columns are columns too), or one tensor of shape
`[rows, columns]` holding the columns in the signature's order, whose name is not a column's.
Data is JSON (flat, or nested in row-major order) or, with Triton's binary tensor extension
(the `Inference-Header-Content-Length` header and each input's `binary_data_size`), raw bytes
after the JSON header. Datatypes and their fit to the model's columns are `_types.py`'s
(`OIP_DATATYPES`, `oip_accepts`). Errors are `{"error": "<message>"}` with a 4xx status.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response

from lakestack.serving._http import json_response
from lakestack.serving._payload import Rows
from lakestack.serving._schema import ServingInputError
from lakestack.serving._types import OIP_DATATYPES, OipDatatype, oip_accepts, oip_datatype

if TYPE_CHECKING:
    from lakestack.serving._model import ServedModel
    from lakestack.serving._schema import Column, InputSchema
    from lakestack.serving._state import ModelSlots

__all__ = ["OUTPUT", "OipDoor", "find_model", "oip_error"]

OUTPUT = "predict"
"""The name of the output tensor of a model answering one value (or one list) per row."""
_HEADER_LENGTH = "inference-header-content-length"
# request parameters that speak to the server (Triton's client sends them), not to the model
_SERVER_PARAMETERS = frozenset(
    {"binary_data_output", "sequence_id", "sequence_start", "sequence_end", "priority"}
    | {"timeout", "content_type", "headers"}
)


def oip_error(status: int, message: str, request_id: str = "") -> Response:
    """The protocol's error answer: `{"error": message}`."""
    headers = {"X-Request-ID": request_id} if request_id else None
    return json_response({"error": message}, status, headers)


def _bad(message: str, status: int = 400, kind: str = "malformed") -> ServingInputError:
    return ServingInputError(message, status=status, kind=kind)


def find_model(
    slots: ModelSlots, endpoint: str, name: str, version: str | None
) -> tuple[str, ServedModel]:
    """The variant and model a path names: the endpoint's or its model's name, and a version
    that production or canary serves (none: production).

    Raises:
        ServingInputError: 404 for a name or version the endpoint does not serve.
    """
    models = slots.models
    production = models["production"]
    if name not in (endpoint, production.name):
        raise _bad(
            f"model {name!r} is not served here: this endpoint serves {production.name!r} "
            f"(also reachable as {endpoint!r})",
            404,
            "unknown_model",
        )
    if version is None:
        return "production", production
    for variant in ("production", "canary"):
        served = models.get(variant)
        if served is not None and str(served.version) == version:
            return variant, served
    answering = sorted({str(m.version) for v, m in models.items() if v != "shadow"})
    raise _bad(
        f"version {version!r} of {name!r} is not served here: it serves version(s) "
        f"{', '.join(answering)}",
        404,
        "unknown_version",
    )


class OipDoor:
    """One inference request in the Open Inference Protocol: parsed into rows, answered with
    output tensors, refused with the protocol's error body.

    Args:
        endpoint: the endpoint's name (a model name the path may use).
        name: the model name in the path.
        version: the version in the path (None: the unversioned route).
    """

    def __init__(self, endpoint: str, name: str, version: str | None) -> None:
        self.endpoint = endpoint
        self.name = name
        self.version = version
        self.id: str | None = None
        self.outputs: list[str] | None = None

    def route(self, slots: ModelSlots, picked: tuple[str, ServedModel]) -> tuple[str, ServedModel]:
        """The variant that answers: the traffic policy's pick, unless a version is named.

        Raises:
            ServingInputError: 404 for a name or version the endpoint does not serve.
        """
        variant, served = find_model(slots, self.endpoint, self.name, self.version)
        return picked if self.version is None else (variant, served)

    def error(self, status: int, message: str, request_id: str) -> Response:
        return oip_error(status, message, request_id)

    def parse(self, body: bytes, headers: Mapping[str, str], served: ServedModel) -> Rows:
        """An inference request's rows (columns named, or positional for a matrix).

        Raises:
            ServingInputError: 400 for a request the protocol refuses (bad JSON, a shape
                that does not match the data, data not of its datatype), 422 for a tensor
                whose datatype does not fit the model's column.
        """
        doc, binary = _split_binary(body, headers.get(_HEADER_LENGTH))
        if not isinstance(doc, dict):
            raise _bad("the body must be a JSON object with 'inputs' (a list of tensors)")
        unknown = [k for k in doc if k not in ("id", "parameters", "inputs", "outputs")]
        if unknown:
            raise _bad(
                f"unknown key(s) {', '.join(map(repr, unknown))} in the inference request; "
                "it takes id, parameters, inputs and outputs"
            )
        request_id = doc.get("id")
        if request_id is not None and not isinstance(request_id, str):
            raise _bad("'id' must be a string")
        self.id = request_id
        self.outputs = _requested_outputs(doc.get("outputs"))
        params = _parameters(doc.get("parameters"), "parameters")
        model_params = {k: v for k, v in params.items() if k not in _SERVER_PARAMETERS}
        tensors = _tensors(doc.get("inputs"), binary)
        rows = _rows(tensors, served.schema)
        rows.params = model_params or None
        rows.format = "oip"
        return rows

    def answer(self, predictions: list[Any], served: ServedModel, request_id: str) -> Response:
        """The inference response: the predictions as output tensors, the request's `id`.

        Raises:
            ServingInputError: 400 when the request asked for an output the model does not
                answer.
        """
        outputs = _output_tensors(predictions)
        if self.outputs is not None:
            known = {o["name"]: o for o in outputs}
            missing = [n for n in self.outputs if n not in known]
            if missing:
                raise _bad(
                    f"unknown output(s) {', '.join(map(repr, missing))}: the model answers "
                    f"{', '.join(known)}"
                )
            outputs = [known[n] for n in self.outputs]
        body = {
            "model_name": served.name,
            "model_version": str(served.version),
            "id": self.id if self.id is not None else request_id,
            "parameters": {},
            "outputs": outputs,
        }
        return json_response(body, headers={"X-Request-ID": request_id})


def _split_binary(body: bytes, header_length: str | None) -> tuple[Any, bytes]:
    """The JSON header and the binary tensor data after it (Triton's binary extension)."""
    size = len(body)
    if header_length is not None:
        if not header_length.isdigit() or int(header_length) > len(body):
            raise _bad(
                f"Inference-Header-Content-Length is {header_length!r}: it must be the length "
                f"of the JSON header, at most the body's {len(body)} bytes"
            )
        size = int(header_length)
    try:
        return orjson.loads(body[:size]), body[size:]
    except orjson.JSONDecodeError as exc:
        raise _bad(f"the body is not valid JSON: {exc}") from None


def _parameters(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(f"'{where}' must be a JSON object")
    return value


def _requested_outputs(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _bad("'outputs' must be a list of {'name': ...} objects")
    names = []
    for i, output in enumerate(value):
        if not isinstance(output, dict) or not isinstance(output.get("name"), str):
            raise _bad(f"'outputs[{i}]' must be an object with a string 'name'")
        _parameters(output.get("parameters"), f"outputs[{i}].parameters")
        names.append(output["name"])
    return names


class _Tensor:
    """An input tensor: its name, shape, datatype and flat elements."""

    def __init__(self, name: str, shape: list[int], datatype: OipDatatype, data: list[Any]):
        self.name = name
        self.shape = shape
        self.datatype = datatype
        self.data = data


def _tensors(value: Any, binary: bytes) -> list[_Tensor]:
    if not isinstance(value, list) or not value:
        raise _bad("'inputs' must be a non-empty list of tensors (name, shape, datatype, data)")
    tensors = []
    offset = 0
    for i, item in enumerate(value):
        where = f"inputs[{i}]"
        if not isinstance(item, dict):
            raise _bad(f"'{where}' must be an object with name, shape, datatype and data")
        name = item.get("name")
        if not isinstance(name, str):
            raise _bad(f"'{where}.name' must be a string")
        where = f"input {name!r}"
        unknown = [k for k in item if k not in ("name", "shape", "datatype", "parameters", "data")]
        if unknown:
            raise _bad(f"{where} has unknown key(s) {', '.join(map(repr, unknown))}")
        shape = item.get("shape")
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise _bad(f"{where}: 'shape' must be a list of sizes (integers >= 0)")
        datatype = OIP_DATATYPES.get(str(item.get("datatype")))
        if datatype is None:
            raise _bad(
                f"{where}: datatype {item.get('datatype')!r} is not one of the protocol's "
                f"({', '.join(OIP_DATATYPES)})"
            )
        params = _parameters(item.get("parameters"), f"{where} parameters")
        size = params.get("binary_data_size")
        if size is not None:
            if "data" in item or not isinstance(size, int) or size < 0:
                raise _bad(f"{where}: binary_data_size needs no 'data' and a size >= 0")
            if offset + size > len(binary):
                raise _bad(f"{where}: binary_data_size {size} runs past the body's end")
            data = _from_binary(binary[offset : offset + size], datatype, where)
            offset += size
        else:
            if "data" not in item:
                raise _bad(f"{where} has no 'data'")
            data = _flat(item["data"], where)
        count = 1
        for dim in shape:
            count *= dim
        if count != len(data):
            raise _bad(f"{where}: shape {shape} holds {count} elements; its data has {len(data)}")
        for j, element in enumerate(data):
            if not datatype.holds(element):
                raise _bad(
                    f"{where} is {datatype.name}, but data[{j}] is {element!r}"[:300],
                    kind="type",
                )
        tensors.append(_Tensor(name, shape, datatype, data))
    if offset != len(binary):
        raise _bad(f"{len(binary) - offset} bytes of binary data belong to no input")
    return tensors


def _flat(data: Any, where: str) -> list[Any]:
    """Elements of (possibly nested, row-major) JSON data."""
    if not isinstance(data, list):
        return [data]
    if not any(isinstance(d, list) for d in data):
        return data
    out: list[Any] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def _from_binary(raw: bytes, datatype: OipDatatype, where: str) -> list[Any]:
    import numpy as np

    if datatype.name != "BYTES":
        width = np.dtype(datatype.numpy).itemsize
        if len(raw) % width:
            raise _bad(f"{where}: {len(raw)} bytes are not whole {datatype.name} elements")
        return list(np.frombuffer(raw, dtype=datatype.numpy).tolist())
    out: list[Any] = []
    at = 0
    while at < len(raw):
        if at + 4 > len(raw):
            raise _bad(f"{where}: BYTES data ends inside an element's length")
        length = int.from_bytes(raw[at : at + 4], "little")
        at += 4
        if at + length > len(raw):
            raise _bad(f"{where}: a BYTES element runs past its data")
        out.append(raw[at : at + length])
        at += length
    return out


def _rows(tensors: list[_Tensor], schema: InputSchema | None) -> Rows:
    """Tensors as rows: one matrix in signature order, or one column per tensor."""
    names = schema.names if schema is not None else []
    first = tensors[0]
    if len(tensors) == 1 and len(first.shape) == 2 and first.name not in names:
        width = first.shape[1]
        columns = schema.columns if schema is not None else (None,) * width
        if schema is not None and width != len(columns):
            raise _bad(
                f"input {first.name!r} has shape {first.shape}: a matrix must have one column "
                f"per model input ({len(columns)}: {', '.join(names)})",
                422,
                "missing_column",
            )
        values = [_column_values(first, j, width, c) for j, c in enumerate(columns)]
        return Rows(None, [list(r) for r in zip(*values, strict=True)] if values else [])
    by_name = {c.name: c for c in schema.columns} if schema is not None else {}
    columns_out: list[list[Any]] = []
    seen: set[str] = set()
    count: int | None = None
    for tensor in tensors:
        if tensor.name in seen:
            raise _bad(f"input {tensor.name!r} is given twice")
        seen.add(tensor.name)
        shape = tensor.shape
        if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
            raise _bad(
                f"input {tensor.name!r} has shape {shape}: an input named as a column has "
                "shape [rows] or [rows, 1] (a whole matrix is one input of shape "
                "[rows, columns] whose name is not a column's)"
            )
        if count is not None and shape[0] != count:
            raise _bad(f"input {tensor.name!r} has {shape[0]} rows; the inputs before it {count}")
        count = shape[0]
        columns_out.append(_column_values(tensor, 0, 1, by_name.get(tensor.name)))
    return Rows([t.name for t in tensors], [list(r) for r in zip(*columns_out, strict=True)])


def _column_values(tensor: _Tensor, j: int, width: int, column: Column | None) -> list[Any]:
    """Column `j` of a tensor `width` columns wide, as the JSON values the checks take."""
    values = tensor.data[j::width] if width > 1 else tensor.data
    if column is not None and not oip_accepts(column.type, tensor.datatype):
        raise ServingInputError(
            f"input {tensor.name!r} is {tensor.datatype.name}, which does not fit the model's "
            f"column {column.name!r} ({column.type.name}): send {oip_datatype(column.type)}",
            kind="type",
        )
    if tensor.datatype.kind != "bytes" or not any(isinstance(v, bytes) for v in values):
        return values
    if column is not None and column.type.name == "binary":  # raw bytes: base64, as in JSON
        return [base64.b64encode(v).decode("ascii") for v in values]
    try:
        return [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]
    except UnicodeDecodeError:
        raise _bad(f"input {tensor.name!r}: a BYTES element is not UTF-8 text") from None


def _output_tensors(predictions: list[Any]) -> list[dict[str, Any]]:
    """Predictions as output tensors: one of shape [rows] or [rows, k], or one per field of
    record predictions (a model answering a DataFrame)."""
    if predictions and all(isinstance(p, dict) for p in predictions):
        names = list(dict.fromkeys(k for p in predictions for k in p))
        return [_tensor(str(n), [p.get(n) for p in predictions]) for n in names]
    if predictions and all(isinstance(p, list) for p in predictions):
        widths = {len(p) for p in predictions}
        if len(widths) == 1 and not any(isinstance(v, list | dict) for p in predictions for v in p):
            width = widths.pop()
            flat = [v for p in predictions for v in p]
            return [_tensor(OUTPUT, flat, [len(predictions), width])]
    return [_tensor(OUTPUT, predictions)]


def _tensor(name: str, data: list[Any], shape: list[int] | None = None) -> dict[str, Any]:
    if all(isinstance(v, bool) for v in data):
        datatype = "BOOL"
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in data):
        datatype = "INT64"
    elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in data):
        datatype = "FP64"
    elif all(isinstance(v, str) for v in data):
        datatype = "BYTES"
    else:  # nulls, nested values: each element as JSON text
        datatype = "BYTES"
        data = [orjson.dumps(v).decode() for v in data]
    return {"name": name, "datatype": datatype, "shape": shape or [len(data)], "data": data}
