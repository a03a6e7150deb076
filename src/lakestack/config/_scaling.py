"""The `scaling` of an endpoint: how many replicas run it on a cluster, and what each gets.

Only deployments read it (`lakestack export k8s` writes it into the Deployment, the
HorizontalPodAutoscaler and the KServe InferenceService); `lakestack serve` on one machine
ignores it.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from lakestack.config._base import Strict

__all__ = ["ScalingConfig"]

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
