"""How an endpoint scales: `scaling` on Kubernetes, `autoscaling` on Ray Serve.

- `scaling` is read by deployments only (`lakestack export k8s` writes it into the Deployment,
  the HorizontalPodAutoscaler and the KServe InferenceService); `lakestack serve` ignores it.
- `autoscaling` is read by `lakestack serve` when the endpoint has `engine: ray`: the replicas
  of its Ray Serve deployment and when Serve adds or removes them (docs/serving.md).
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from lakestack.config._base import Strict

__all__ = ["AutoscalingConfig", "ScalingConfig"]

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")


class ScalingConfig(Strict):
    """Replicas and resources of an endpoint on a cluster."""

    min_replicas: int = Field(default=1, ge=1, description="Replicas kept running at least.")
    max_replicas: int = Field(default=3, ge=1, description="Replicas the autoscaler may reach.")
    target_cpu_percent: int = Field(
        default=70,
        ge=1,
        le=100,
        description="Average CPU use (of the request) the autoscaler aims at.",
    )
    cpu: str = Field(default="1", description="CPU requested per replica (Kubernetes quantity).")
    memory: str = Field(default="2Gi", description="Memory requested and limited per replica.")

    @field_validator("cpu", "memory")
    @classmethod
    def _quantity(cls, value: str) -> str:
        if not _QUANTITY.match(value):
            raise ValueError(
                f"{value!r} is not a Kubernetes quantity: write for example 500m or 2 (CPU), "
                "512Mi or 2Gi (memory)"
            )
        return value

    @model_validator(mode="after")
    def _range(self) -> ScalingConfig:
        if self.max_replicas < self.min_replicas:
            raise ValueError(
                f"max_replicas ({self.max_replicas}) is below min_replicas ({self.min_replicas})"
            )
        return self


class AutoscalingConfig(Strict):
    """The replicas of an endpoint served by Ray Serve (`engine: ray`), and when they change."""

    min_replicas: int = Field(
        default=1, ge=0, description="Replicas kept running at least (0: scale to zero)."
    )
    max_replicas: int = Field(default=3, ge=1, description="Replicas Serve may reach.")
    target_ongoing_requests: float = Field(
        default=2.0,
        gt=0,
        description="Requests in progress or queued per replica that Serve aims at: above it "
        "replicas are added, below it removed.",
    )
    max_ongoing_requests: int = Field(
        default=64,
        ge=1,
        description="Requests a replica takes at once; more wait in Serve's proxy. Serve's own "
        "default (5) starves an endpoint that answers in a millisecond: at 32 connections "
        "it answered 13 req/s against 129 with 64 (benchmarks/RESULTS.md).",
    )
    upscale_delay_s: float = Field(
        default=30.0, ge=0, description="Seconds the load stays above target before adding."
    )
    downscale_delay_s: float = Field(
        default=600.0, ge=0, description="Seconds the load stays below target before removing."
    )
    look_back_period_s: float = Field(
        default=30.0, gt=0, description="Seconds over which the load is averaged."
    )
    replica_cpus: float = Field(
        default=1.0,
        gt=0,
        description="CPUs of the Ray cluster each replica reserves (0.5: two per core).",
    )

    @model_validator(mode="after")
    def _range(self) -> AutoscalingConfig:
        if self.max_replicas < self.min_replicas:
            raise ValueError(
                f"max_replicas ({self.max_replicas}) is below min_replicas ({self.min_replicas})"
            )
        if self.max_ongoing_requests < self.target_ongoing_requests:
            raise ValueError(
                f"max_ongoing_requests ({self.max_ongoing_requests}) is below "
                f"target_ongoing_requests ({self.target_ongoing_requests:g}): a replica could "
                "never be as busy as the target; raise max_ongoing_requests"
            )
        return self
