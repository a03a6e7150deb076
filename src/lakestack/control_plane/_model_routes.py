"""Routes over models, endpoints and monitors: versions, gates, promote, rollback, alerts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from lakestack.control_plane._local import local_request
from lakestack.control_plane._memo import by_versions
from lakestack.control_plane._session import FastJSON, Reader, Session, Writer, not_found

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/envs/{env}")

StageName = Literal["staging", "production"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromoteRequest(_Body):
    """Run the gates and move the alias when they pass."""

    version: int = Field(ge=1, le=2**31 - 1, description="The candidate version.")
    to: StageName = Field(description="The alias to move.")
    force: bool = Field(default=False, description="Override failed gates (needs a reason).")
    reason: str = Field(default="", max_length=5000, description="Why, recorded.")


class RollbackRequest(_Body):
    """Give a stage back to its previous holder."""

    stage: StageName = "production"
    reason: str = Field(default="", max_length=5000)


def _registry(s: Session) -> Any:
    from lakestack.registry import ModelRegistry

    return ModelRegistry(s.project, s.env)


def _known_model(s: Session, registry: Any, model: str) -> None:
    names = [m.name for m in registry.models()]
    if model not in names:
        raise not_found(f"model {model!r} in {s.env}", names)


@router.get("/models", tags=["models"], summary="Registered models with their stages")
def list_models(s: Reader) -> list[dict[str, Any]]:
    with s.acting():
        return [m.to_dict() for m in _registry(s).models()]


@router.get("/models/{model}/versions", tags=["models"], summary="Every version, newest first")
def list_versions(s: Reader, model: str) -> list[dict[str, Any]]:
    with s.acting():
        registry = _registry(s)
        _known_model(s, registry, model)
        return [v.to_dict() for v in registry.versions(model)]


@router.get("/models/{model}/versions/{ref}", tags=["models"], summary="A version or an alias")
def show_version(s: Reader, model: str, ref: str) -> dict[str, Any]:
    with s.acting():
        registry = _registry(s)
        _known_model(s, registry, model)
        return dict(registry.version(model, ref).to_dict())


@router.get("/models/{model}/transitions", tags=["models"], summary="The alias history")
def list_transitions(s: Reader, model: str, stage: StageName | None = None) -> list[dict[str, Any]]:
    with s.acting():
        return [t.to_dict() for t in _registry(s).history(model, stage=stage)]


@router.post(
    "/models/{model}/versions/{version}/gates",
    tags=["models"],
    summary="Run the gates of a promotion without moving anything",
)
def evaluate_gates(
    s: Reader,
    model: str,
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    stage: StageName = "staging",
) -> dict[str, Any]:
    with s.acting():
        registry = _registry(s)
        _known_model(s, registry, model)
        return dict(registry.evaluate_gates(model, version, stage=stage).to_dict())


@router.post(
    "/models/{model}/promote",
    tags=["models"],
    summary="Promote a version (gated; 409 with the gate report when a gate fails)",
    responses={409: {"description": "A gate failed; nothing moved."}},
)
def promote(s: Writer, model: str, body: PromoteRequest) -> Any:
    with s.acting():
        registry = _registry(s)
        _known_model(s, registry, model)
        promotion = registry.promote(
            model,
            body.version,
            to=body.to,
            force=body.force,
            reason=body.reason,
            raise_on_failure=False,
        )
    out = promotion.to_dict()
    refused = not promotion.applied and not promotion.report.passed
    return FastJSON(out, status_code=409) if refused else out


@router.post("/models/{model}/rollback", tags=["models"], summary="Roll a stage back")
def rollback(s: Writer, model: str, body: RollbackRequest | None = None) -> dict[str, Any]:
    request = body or RollbackRequest()
    with s.acting():
        registry = _registry(s)
        _known_model(s, registry, model)
        return dict(registry.rollback(model, stage=request.stage, reason=request.reason).to_dict())


@router.get("/endpoints", tags=["endpoints"], summary="Endpoints, their versions and health")
def list_endpoints(s: Reader) -> list[dict[str, Any]]:
    out = []
    with s.acting():
        registry = _registry(s)
        for name, config in s.project.config.endpoints.items():
            holder = registry.alias_holder(config.model, config.stage)
            out.append(
                {
                    "name": name,
                    **config.model_dump(mode="json"),
                    "version": None if holder is None else holder.version,
                    "health": _health(config.port),
                }
            )
    return out


def _health(port: int) -> str:
    """`up` when the endpoint answers /health on this host, else `down`."""
    try:
        response = local_request("GET", port, "/health", timeout=0.5)
    except httpx.HTTPError:
        return "down"
    return "up" if response.status_code == 200 else "down"


@router.get("/monitors", tags=["monitors"], summary="Monitors of lakestack.yaml")
def list_monitors(s: Reader) -> list[dict[str, Any]]:
    return [
        {"name": name, **config.model_dump(mode="json")}
        for name, config in s.project.config.monitors.items()
    ]


@router.get("/monitors/{monitor}/alerts", tags=["monitors"], summary="Alerts, newest first")
def list_alerts(s: Reader, monitor: str) -> list[dict[str, Any]]:
    from lakestack.lake import Lake
    from lakestack.monitoring import read_alerts

    _known_monitor(s, monitor)
    with s.acting():
        frame = read_alerts(Lake.for_environment(s.project, s.env), monitor)
    return [] if frame is None else frame.sort("fired_at", descending=True).to_dicts()


@router.get(
    "/monitors/{monitor}/metrics/{kind}", tags=["monitors"], summary="A monitor's metric rows"
)
def monitor_metrics(
    s: Reader, monitor: str, kind: Literal["profile", "drift", "quality", "state"]
) -> list[dict[str, Any]]:
    from lakestack.lake import Lake
    from lakestack.monitoring import metric_tables

    _known_monitor(s, monitor)
    with s.acting():
        lake = Lake.for_environment(s.project, s.env)
        table = metric_tables(monitor)[kind]
        rows: list[dict[str, Any]] = lake.read(table).to_pylist() if lake.exists(table) else []
    return rows


@router.get(
    "/monitors/{monitor}/dashboard",
    tags=["monitors"],
    summary="Drift (top features first), quality with alerts, retrainings and served versions",
)
def monitor_dashboard(s: Reader, monitor: str) -> dict[str, Any]:
    """What the console's monitor page and `lakestack monitor report` draw."""
    from lakestack.lake import Lake
    from lakestack.monitoring import dashboard_tables
    from lakestack.monitoring import monitor_dashboard as dashboard

    _known_monitor(s, monitor)
    with s.acting():
        lake = Lake.for_environment(s.project, s.env)
        versions = tuple(lake.version_key(t) for t in dashboard_tables(s.project, monitor))
        answer: dict[str, Any] = by_versions(
            ("dashboard", monitor), versions, lambda: dashboard(s.project, monitor, lake)
        )
    return answer


@router.post("/monitors/{monitor}/runs", tags=["monitors"], summary="Process new windows now")
def run_monitor(s: Writer, monitor: str) -> dict[str, Any]:
    from lakestack.monitoring import run_monitor as run

    _known_monitor(s, monitor)
    with s.acting():
        return dict(run(s.project, monitor, env=s.env).to_dict())


def _known_monitor(s: Session, monitor: str) -> None:
    if monitor not in s.project.config.monitors:
        raise not_found(f"monitor {monitor!r}", sorted(s.project.config.monitors))
