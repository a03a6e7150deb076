"""Serving: online endpoints, inference logging and batch scoring (see docs/serving.md).

- `Endpoint` is one online endpoint: MLflow scoring payloads on `POST /invocations`, with
  `/health`, `/ready`, `/metrics` (Prometheus) and `/openapi.json`; `create_app` builds one
  from a model loader and returns its ASGI app.
- `endpoint_app` and `serve` run an endpoint of `lakestack.yaml`: the version holding its
  stage alias, followed as the alias moves, with canary and shadow traffic.
- `InferenceLog` logs every request and response to the Delta table `inference.<endpoint>`
  through a local spool, so no acknowledged record is lost on a crash and no record that
  cannot be written holds back the others (it goes to `inference.<endpoint>_rejected`).
- `MLFLOW_TYPES` and `CONTEXT_TYPES` map column types to the request check, the OpenAPI
  document and the inference table's Arrow columns.
- `ServerProcess` runs `lakestack serve` in its own process and waits for `/ready`.
- `score_table` scores a Delta table (or a version of it) in Arrow batches; `ScoreStream`
  follows a table and scores each new version's appended rows exactly once
  (`lakestack score --follow`), and `score_new_rows` is the same as a pipeline task.

Example:
    >>> from lakestack.serving import endpoint_app
    >>> app = endpoint_app(load_project("."), "flights", "prod")  # doctest: +SKIP
"""

from __future__ import annotations

from lakestack.serving._endpoint import Endpoint, Limits, Tuning, create_app
from lakestack.serving._inference_log import InferenceLog, inference_table, rejected_table
from lakestack.serving._model import ServedModel
from lakestack.serving._payload import FORMATS
from lakestack.serving._process import ServerProcess, free_port
from lakestack.serving._schema import Column, InputSchema, ServingInputError
from lakestack.serving._scoring import ScoreResult, parse_model_ref, score_table
from lakestack.serving._scoring_stream import ScoreStream, StreamCommit, score_new_rows
from lakestack.serving._serve import endpoint_app, serve, spool_root
from lakestack.serving._state import ModelSlots, Traffic
from lakestack.serving._types import CONTEXT_TYPES, MLFLOW_TYPES, ValueType

__all__ = [
    "CONTEXT_TYPES",
    "FORMATS",
    "MLFLOW_TYPES",
    "Column",
    "Endpoint",
    "InferenceLog",
    "InputSchema",
    "Limits",
    "ModelSlots",
    "ScoreResult",
    "ScoreStream",
    "ServedModel",
    "ServerProcess",
    "ServingInputError",
    "StreamCommit",
    "Traffic",
    "Tuning",
    "ValueType",
    "create_app",
    "endpoint_app",
    "free_port",
    "inference_table",
    "parse_model_ref",
    "rejected_table",
    "score_new_rows",
    "score_table",
    "serve",
    "spool_root",
]
