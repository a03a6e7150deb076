"""Routes over one endpoint: its traffic, the input form of its model, and trying it.

`predict` and `score` send rows to the running endpoint (on this host, at its port) and answer
what it answered, so the console shows the endpoint's own predictions; the rows are logged to
its inference table like any other request.
"""

from __future__ import annotations

import csv
import io
import threading
from datetime import datetime
from typing import Annotated, Any

import httpx
import orjson
from fastapi import APIRouter, Body, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from lakestack.control_plane._local import local_request
from lakestack.control_plane._memo import by_versions
from lakestack.control_plane._session import Reader, Session, not_found
from lakestack.control_plane._traffic import traffic_summary

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/envs/{env}/endpoints/{endpoint}")

_CHUNK = 5000
"""Rows per request when a CSV is scored through the endpoint (at most its `max_rows`)."""

_models: dict[tuple[str, str, str, int], Any] = {}
_models_lock = threading.Lock()


class PredictRequest(BaseModel):
    """Rows to score, as records (column -> value)."""

    model_config = ConfigDict(extra="forbid")
    records: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


def _config(s: Session, endpoint: str) -> Any:
    endpoints = s.project.config.endpoints
    if endpoint not in endpoints:
        raise not_found(f"endpoint {endpoint!r}", sorted(endpoints))
    return endpoints[endpoint]


def _served(s: Session, endpoint: str) -> tuple[Any, Any]:
    """The endpoint's config and the version holding its stage (404 when none holds it)."""
    from lakestack.registry import ModelRegistry

    config = _config(s, endpoint)
    holder = ModelRegistry(s.project, s.env).alias_holder(config.model, config.stage)
    if holder is None:
        raise HTTPException(
            404, f"no version of {config.model} holds {config.stage} in {s.env}: promote one"
        )
    return config, holder


def _loaded(s: Session, model: str, version: int) -> Any:
    """The version's artifacts, loaded once per server (signature, feature spec, example)."""
    from lakestack.registry import ModelRegistry

    key = (str(s.project.root), s.env, model, version)
    with _models_lock:
        if key not in _models:
            _models[key] = ModelRegistry(s.project, s.env).load_model(model, version)
        return _models[key]


@router.get("", tags=["endpoints"], summary="An endpoint: config, serving version, health")
def show_endpoint(s: Reader, endpoint: str) -> dict[str, Any]:
    from lakestack.registry import ModelRegistry

    with s.acting():
        config = _config(s, endpoint)
        registry = ModelRegistry(s.project, s.env)
        holders = {
            stage: None if (v := registry.alias_holder(config.model, stage)) is None else v.version
            for stage in ("staging", "production")
        }
    ready = _ready(config.port)
    return {
        "name": endpoint,
        **config.model_dump(mode="json"),
        "version": holders[config.stage],
        "holders": holders,
        "health": "up" if ready is not None else "down",
        "ready": ready,
        "url": f"http://127.0.0.1:{config.port}",
    }


def _ready(port: int) -> dict[str, Any] | None:
    try:
        response = local_request("GET", port, "/ready", timeout=1.0)
    except httpx.HTTPError:
        return None
    body: dict[str, Any] = response.json() if response.content else {}
    return body


@router.get("/traffic", tags=["endpoints"], summary="Requests, latency, errors, predictions")
def traffic(s: Reader, endpoint: str) -> dict[str, Any]:
    """The endpoint's traffic per time bucket, from its inference table."""
    from lakestack.lake import Lake
    from lakestack.serving import inference_table

    _config(s, endpoint)
    table = inference_table(endpoint)
    with s.acting():
        lake = Lake.for_environment(s.project, s.env)
        versions = (lake.version_key(table),)
        summary = by_versions("traffic", versions, lambda: _summary(lake, table))
    return {**summary, "table": table}


def _summary(lake: Any, table: str) -> dict[str, Any]:
    if not lake.exists(table):
        return traffic_summary(_no_rows())
    names = set(lake.schema(table).names)
    frame = lake.read_polars(table, columns=[c for c in _TRAFFIC_COLUMNS if c in names])
    for column in _TRAFFIC_COLUMNS:
        if column not in frame.columns:
            frame = frame.with_columns(_null(column))
    return traffic_summary(frame)


_TRAFFIC_COLUMNS = ["request_id", "ts", "status", "latency_ms", "prediction", "model_version"]


def _null(column: str) -> Any:
    import polars as pl

    return pl.lit(None, dtype=pl.Float64).alias(column)


def _no_rows() -> Any:
    import polars as pl

    return pl.DataFrame(schema={"ts": pl.Datetime("us", "UTC")})


@router.get(
    "/form",
    tags=["endpoints"],
    summary="The inputs a request needs (keys only when features are looked up)",
)
def form(s: Reader, endpoint: str) -> dict[str, Any]:
    """The fields of a form for one row of the served version: its signature's inputs, or,
    when it looks features up by key, the keys (and the lookup's time column) and the inputs
    that are not looked up; with the input example's first row as defaults."""
    from lakestack.serving import InputSchema

    with s.acting():
        config, holder = _served(s, endpoint)
        loaded = _loaded(s, config.model, holder.version)
    schema = InputSchema.from_signature(loaded.signature)
    inputs = {c.name: c.type.name for c in schema.columns} if schema is not None else {}
    spec = _spec(loaded)
    looked_up = spec.feature_columns if spec is not None else []
    fields = {name: kind for name, kind in inputs.items() if name not in looked_up}
    if spec is not None:
        for key in spec.key_columns:
            fields.setdefault(key, "string")
        for lookup in spec.lookups:
            if lookup.timestamp_lookup_key:
                fields.setdefault(lookup.timestamp_lookup_key, "timestamp")
    example = _example(loaded)
    return {
        "endpoint": endpoint,
        "model": config.model,
        "version": holder.version,
        "keys_only": spec is not None,
        "fields": [{"name": n, "type": k, "default": example.get(n)} for n, k in fields.items()],
        "looked_up": looked_up,
    }


def _spec(loaded: Any) -> Any:
    from lakestack.features import FeatureSpec

    text = loaded.feature_spec_json()
    return None if text is None else FeatureSpec.from_json(text)


def _example(loaded: Any) -> dict[str, Any]:
    """The first row of the version's input example, JSON-ready ({} without one)."""
    try:
        example = loaded.input_example()
    except Exception:  # an example that cannot be read only loses the defaults
        return {}
    if example is None:
        return {}
    if hasattr(example, "to_dict"):
        rows = example.head(1).to_dict(orient="records")
        row = rows[0] if rows else {}
    elif isinstance(example, dict):
        row = {k: (v[0] if isinstance(v, list) and v else v) for k, v in example.items()}
    else:
        return {}
    out: dict[str, Any] = orjson.loads(
        orjson.dumps(row, default=str, option=orjson.OPT_SERIALIZE_NUMPY)
    )
    return out


@router.post("/predict", tags=["endpoints"], summary="Score rows through the running endpoint")
def predict(s: Reader, endpoint: str, body: PredictRequest, request: Request) -> dict[str, Any]:
    """The endpoint's answer for the rows, and the features looked up for their keys."""
    from lakestack.access import authorize

    with s.acting():
        authorize(s.project, "endpoint.invoke", s.env, obj=endpoint, audit=False)
        config, holder = _served(s, endpoint)
    answer = _invoke(
        endpoint, config.port, request, {"dataframe_records": body.records}, "application/json"
    )
    looked_up = _looked_up(s, config.model, holder.version, body.records)
    return {**answer, "features": looked_up, "version": holder.version}


def _invoke(endpoint: str, port: int, request: Request, payload: Any, kind: str) -> dict[str, Any]:
    """POST to the endpoint's /invocations; its 4xx passes through, its absence is a 503."""
    headers = {"Content-Type": kind}
    if "authorization" in request.headers:  # an endpoint with `auth: token` checks the same token
        headers["Authorization"] = request.headers["authorization"]
    content = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    try:
        response = local_request(
            "POST", port, "/invocations", content=content, headers=headers, timeout=60.0
        )
    except httpx.HTTPError as exc:
        raise HTTPException(
            503,
            f"endpoint {endpoint!r} does not answer on 127.0.0.1:{port} ({type(exc).__name__}): "
            f"start it with `lakestack serve {endpoint}`",
        ) from None
    if response.status_code != 200:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        status = response.status_code if response.status_code < 500 else 502
        raise HTTPException(
            status, f"endpoint {endpoint!r} answered {response.status_code}: {message}"
        )
    answer = response.json()
    return {
        "predictions": answer.get("predictions"),
        "request_id": response.headers.get("x-request-id"),
    }


def _looked_up(
    s: Session, model: str, version: int, records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The features the version's lookups find for the records' keys (none without lookups)."""
    from lakestack.features import FeatureStore

    spec = _spec(_loaded(s, model, version))
    keys = spec.key_columns if spec is not None else []
    if spec is None or any(k not in r for r in records for k in keys):
        return []
    clock = next((lk.timestamp_lookup_key for lk in spec.lookups if lk.timestamp_lookup_key), None)
    at = None
    if clock is not None and all(r.get(clock) for r in records):
        at = [datetime.fromisoformat(str(r[clock])) for r in records]
    with s.acting(), FeatureStore(s.project, s.env) as store:
        table = store.lookup(spec, [{k: r[k] for k in keys} for r in records], at=at)
    rows: list[dict[str, Any]] = orjson.loads(orjson.dumps(table.to_pylist(), default=str))
    return rows


@router.post("/score", tags=["endpoints"], summary="Score an uploaded CSV through the endpoint")
def score_csv(
    s: Reader,
    endpoint: str,
    request: Request,
    body: Annotated[str, Body(media_type="text/csv", description="A header row, then rows.")],
) -> dict[str, Any]:
    """One prediction per row of the CSV, and the CSV with a `prediction` column added."""
    from lakestack.access import authorize

    with s.acting():
        authorize(s.project, "endpoint.invoke", s.env, obj=endpoint, audit=False)
        config, _ = _served(s, endpoint)
    rows = list(csv.reader(io.StringIO(body)))
    if len(rows) < 2 or not rows[0]:
        raise HTTPException(400, "the CSV needs a header row naming the columns, then rows")
    header, data = rows[0], [r for r in rows[1:] if r]
    predictions: list[Any] = []
    size = min(_CHUNK, config.max_rows)
    for start in range(0, len(data), size):
        chunk = io.StringIO()
        csv.writer(chunk, lineterminator="\n").writerows([header, *data[start : start + size]])
        answer = _invoke(endpoint, config.port, request, chunk.getvalue().encode(), "text/csv")
        predictions.extend(answer["predictions"] or [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*header, "prediction"])
    for row, prediction in zip(data, predictions, strict=True):
        cell = (
            prediction
            if isinstance(prediction, str | int | float)
            else orjson.dumps(prediction).decode()
        )
        writer.writerow([*row, cell])
    return {"rows": len(data), "predictions": predictions, "csv": out.getvalue()}
