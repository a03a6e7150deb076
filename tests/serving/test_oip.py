"""The Open Inference Protocol v2 (REST) on a real `lakestack serve`, through Triton's client
(`tritonclient.http`): every datatype a column takes, as JSON and as binary tensor data, gets
the answer `/invocations` gives for the same values, and both are logged the same way; bad
requests get the protocol's error body and are logged as `/invocations` logs its 4xx."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from _serving_kit import EVERY_TYPE, Served
from tritonclient.utils import InferenceServerException

from lakestack.lake import Lake
from lakestack.serving import ServerProcess, inference_table

BLOB = b"\x00\xffbin"
BASE_ROW: dict[str, tuple[str, Any]] = {  # column -> (the datatype sent, the value)
    "flag": ("BOOL", True),
    "count": ("INT32", 7),
    "big": ("INT64", 2**40),
    "ratio": ("FP32", 1.5),
    "amount": ("FP64", 0.1),
    "name": ("BYTES", "héllo wörld"),
    "blob": ("BYTES", BLOB),
    "when": ("BYTES", "2024-01-02T03:04:05"),
}
CASES: list[tuple[str, str, Any]] = [  # (column, datatype, value): every datatype a column takes
    ("flag", "BOOL", False),
    *(("count", t, 7) for t in ("INT8", "INT16", "INT64", "UINT8", "UINT16", "UINT32", "UINT64")),
    *(("count", t, 7.0) for t in ("FP16", "FP32", "FP64")),
    ("count", "INT32", -(2**31)),
    ("big", "INT64", 2**62),
    ("big", "UINT32", 2**32 - 1),
    ("big", "INT8", -5),
    ("big", "FP64", 2.0**40),
    ("ratio", "FP16", 0.25),
    ("ratio", "FP64", -3.5),
    ("ratio", "INT16", 300),
    ("ratio", "UINT8", 9),
    ("amount", "FP32", 0.5),
    ("amount", "FP16", 2.0),
    ("amount", "INT64", -12),
    ("amount", "UINT64", 2**53),
    ("name", "BYTES", ""),
    ("when", "INT64", 1_700_000_000),
    ("when", "FP64", 1_700_000_000.5),
]
NUMPY = {"BOOL": np.bool_, "FP16": np.float16, "FP32": np.float32, "FP64": np.float64}


def echo_model() -> Any:
    """A pyfunc answering, per row, the text of the values it was given (as MLflow hands them
    over): two requests get the same answer only if the model saw the same values."""
    import mlflow.pyfunc

    class Echo(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return [repr(model_input.iloc[i].tolist()) for i in range(len(model_input))]

    return Echo()


def _log_echo(served: Served) -> None:
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    signature = ModelSignature(
        inputs=Schema([ColSpec(t, n) for n, t in EVERY_TYPE.items()]),
        outputs=Schema([ColSpec("string")]),
    )
    info = served.registry.log_model(
        echo_model(), "tiny", signature=signature, flavor="pyfunc", problem="regression"
    )
    served.registry.promote("tiny", info.version, to="production", force=True, reason="test")


def _json_value(column: str, value: Any) -> Any:
    """The value as a JSON payload to /invocations carries it (binary as base64 text)."""
    return base64.b64encode(value).decode() if isinstance(value, bytes) else value


def _input(column: str, datatype: str, value: Any, binary: bool) -> triton.InferInput:
    tensor = triton.InferInput(column, [1], datatype)
    if datatype == "BYTES":
        raw = value if isinstance(value, bytes) else value.encode()
        if isinstance(value, bytes) and not binary:  # JSON carries text: base64
            raw = base64.b64encode(value)
        array = np.array([raw], dtype=np.object_)
    else:
        array = np.array([value], dtype=NUMPY.get(datatype, datatype.lower()))
    tensor.set_data_from_numpy(array, binary_data=binary)
    return tensor


def test_every_datatype_a_column_takes_answers_as_invocations_and_is_logged_alike(
    served: Served, server_factory: Callable[..., ServerProcess]
) -> None:
    _log_echo(served)
    project = served.configure(poll_interval_s=0)
    server = server_factory(project).start()
    client = triton.InferenceServerClient(server.url.removeprefix("http://"))
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("tiny") and client.is_model_ready("tiny", "1")
        metadata = client.get_model_metadata("tiny")
        assert [(i["name"], i["datatype"]) for i in metadata["inputs"]] == [
            ("flag", "BOOL"),
            ("count", "INT32"),
            ("big", "INT64"),
            ("ratio", "FP32"),
            ("amount", "FP64"),
            ("name", "BYTES"),
            ("blob", "BYTES"),
            ("when", "BYTES"),
        ]
        assert metadata["outputs"] == [{"name": "predict", "datatype": "BYTES", "shape": [-1]}]
        assert client.get_server_metadata()["name"] == "lakestack"
        sent = 0
        for column, datatype, value in [(c, *BASE_ROW[c]) for c in BASE_ROW] + CASES:
            row = {**BASE_ROW, column: (datatype, value)}
            want = httpx.post(
                server.url + "/invocations",
                json={"dataframe_records": [{c: _json_value(c, v) for c, (_, v) in row.items()}]},
            )
            assert want.status_code == 200, (column, datatype, want.text)
            for binary in (False, True):
                inputs = [_input(c, t, v, binary) for c, (t, v) in row.items()]
                result = client.infer(
                    "tiny",
                    inputs,
                    request_id=f"{column}-{datatype}",
                    outputs=[triton.InferRequestedOutput("predict", binary_data=False)],
                )
                got = [
                    v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("predict")
                ]
                assert got == want.json()["predictions"], (column, datatype, binary)
                assert result.get_response()["id"] == f"{column}-{datatype}"
                assert result.get_response()["model_version"] == "1"
            sent += 3
    finally:
        client.close()
        assert server.stop()
    logged = Lake.for_environment(project, "prod").read(inference_table("tiny")).to_pylist()
    assert len(logged) == sent and {r["status"] for r in logged} == {200}
    # each value sent three ways (MLflow JSON, OIP JSON, OIP binary) is logged three times alike
    inputs = Counter((*(r[c] for c in EVERY_TYPE), r["output"]) for r in logged)
    assert all(n % 3 == 0 for n in inputs.values()), inputs


BAD: list[tuple[str, str, Any, int, str]] = [  # (why, path, body, status, in the message)
    ("bad JSON", "tiny/infer", b'{"inputs": [', 400, "not valid JSON"),
    ("not an object", "tiny/infer", b"[1, 2]", 400, "JSON object"),
    ("no inputs", "tiny/infer", {"inputs": []}, 400, "'inputs'"),
    (
        "unknown datatype",
        "tiny/infer",
        {"inputs": [{"name": "amount", "shape": [1], "datatype": "FP8", "data": [1]}]},
        400,
        "FP8",
    ),
    (
        "data not of its datatype",
        "tiny/infer",
        {"inputs": [{"name": "count", "shape": [1], "datatype": "INT32", "data": [1.5]}]},
        400,
        "INT32",
    ),
    (
        "out of its datatype's range",
        "tiny/infer",
        {"inputs": [{"name": "count", "shape": [1], "datatype": "INT8", "data": [300]}]},
        400,
        "INT8",
    ),
    (
        "shape not matching the data",
        "tiny/infer",
        {"inputs": [{"name": "amount", "shape": [2], "datatype": "FP64", "data": [1.0]}]},
        400,
        "shape [2]",
    ),
    (
        "a 3-d input",
        "tiny/infer",
        {"inputs": [{"name": "m", "shape": [1, 1, 8], "datatype": "FP64", "data": [1.0] * 8}]},
        400,
        "shape",
    ),
    (
        "bad parameters",
        "tiny/infer",
        {
            "parameters": [],
            "inputs": [{"name": "amount", "shape": [1], "datatype": "FP64", "data": [1.0]}],
        },
        400,
        "parameters",
    ),
    ("unknown model", "nope/infer", None, 404, "'nope'"),
    ("unknown version", "tiny/versions/7/infer", None, 404, "version '7'"),
]


def _good_inputs(drop: str = "", **replace: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for column, (datatype, value) in BASE_ROW.items():
        if column == drop:
            continue
        tensor = {
            "name": column,
            "shape": [1],
            "datatype": datatype,
            "data": [_json_value(column, value)],
        }
        out.append(replace.get(column, tensor))
    return out


def _bad_for_the_model() -> list[tuple[str, str, Any, int, str]]:
    """Requests the protocol allows but the model does not take."""
    wrong_type = {"name": "amount", "shape": [1], "datatype": "BYTES", "data": ["0.5"]}
    return [
        (
            "wrong datatype for the column",
            "tiny/infer",
            {"inputs": _good_inputs(amount=wrong_type)},
            422,
            "'amount'",
        ),
        (
            "unknown input",
            "tiny/infer",
            {
                "inputs": [
                    *_good_inputs(),
                    {"name": "zz", "shape": [1], "datatype": "FP64", "data": [1]},
                ]
            },
            422,
            "'zz'",
        ),
        ("missing input", "tiny/infer", {"inputs": _good_inputs(drop="amount")}, 422, "'amount'"),
        (
            "rows of different lengths",
            "tiny/infer",
            {
                "inputs": _good_inputs(
                    amount={"name": "amount", "shape": [2], "datatype": "FP64", "data": [1.0, 2.0]}
                )
            },
            400,
            "rows",
        ),
        (
            "unknown output",
            "tiny/infer",
            {"inputs": _good_inputs(), "outputs": [{"name": "proba"}]},
            400,
            "'proba'",
        ),
        (
            "a matrix of the wrong width",
            "tiny/infer",
            {"inputs": [{"name": "m", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]},
            422,
            "one column per model input",
        ),
    ]


def test_bad_requests_get_the_protocols_error_and_are_logged_as_invocations_logs_them(
    served: Served, server_factory: Callable[..., ServerProcess]
) -> None:
    _log_echo(served)
    project = served.configure(poll_interval_s=0)
    server = server_factory(project).start()
    cases = [*BAD, *_bad_for_the_model()]
    answers = {}
    try:
        for why, path, body, _, _ in cases:
            body = body if body is not None else {"inputs": _good_inputs()}
            content = body if isinstance(body, bytes) else None
            answers[why] = httpx.post(
                f"{server.url}/v2/models/{path}",
                content=content,
                json=None if content is not None else body,
            )
        metadata_404 = httpx.get(f"{server.url}/v2/models/nope")
        version_404 = httpx.get(f"{server.url}/v2/models/tiny/versions/7/ready")
        good = httpx.post(
            f"{server.url}/v2/models/tiny/versions/1/infer",
            json={"inputs": _good_inputs(), "outputs": [{"name": "predict"}]},
        )
    finally:
        assert server.stop()
    for why, _, _, status, text in cases:
        answer = answers[why]
        assert answer.status_code == status, (why, answer.text)
        assert list(answer.json()) == ["error"] and text in answer.json()["error"], (
            why,
            answer.json(),
        )
    assert (metadata_404.status_code, version_404.status_code) == (404, 404)
    assert list(metadata_404.json()) == ["error"]
    assert good.status_code == 200 and [o["name"] for o in good.json()["outputs"]] == ["predict"]
    logged = Lake.for_environment(project, "prod").read(inference_table("tiny")).to_pylist()
    by_id = {r["request_id"]: r for r in logged}
    for why, _, _, status, _ in cases:
        record = by_id[answers[why].headers["x-request-id"]]
        assert record["status"] == status and record["error"] == answers[why].json()["error"], why
        assert record["output"] is None and record["prediction"] is None
    assert len(logged) == len(cases) + 1


def test_an_unknown_model_is_a_404_through_the_client(
    served: Served, server_factory: Callable[..., ServerProcess]
) -> None:
    served.log_sklearn()
    project = served.configure(poll_interval_s=0, log_inference=False)
    server = server_factory(project).start()
    client = triton.InferenceServerClient(server.url.removeprefix("http://"))
    try:
        with pytest.raises(InferenceServerException) as refused:
            client.get_model_metadata("nope")
        assert refused.value.status() == "404" and "'nope'" in refused.value.message()
        assert not client.is_model_ready("tiny", "5")
        tensor = triton.InferInput("m", [2, 3], "FP64")
        x = np.array([[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]])
        tensor.set_data_from_numpy(x)
        result = client.infer("tiny", [tensor], model_version="1")  # binary data by default
        want = served.registry.load_model("tiny", 1).predict(
            __import__("pandas").DataFrame(x, columns=["x1", "x2", "x3"])
        )
        assert np.allclose(result.as_numpy("predict"), want)
        assert result.as_numpy("predict").shape == (2, 2)
    finally:
        client.close()
        assert server.stop()
