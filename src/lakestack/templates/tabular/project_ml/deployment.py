"""Model deployment: the version holding `staging` goes to `production` through the
production gates (no regression against the current production version, the infrastructure
check). Blocks by default like `validation`; `dry_run: true` only reports."""

from __future__ import annotations

from typing import Any

from lakestack.pipelines import TaskContext
from lakestack.registry import ModelRegistry

from . import settings
from .validation import gate


def promote(ctx: TaskContext) -> dict[str, Any]:
    """Gate the `staging` version for `production` and move the alias if it passes."""
    holder = ModelRegistry(ctx.project, ctx.environment, lake=ctx.lake).alias_holder(
        settings.MODEL, "staging"
    )
    if holder is None:
        raise ValueError(
            f"{settings.MODEL} has no staging version in {ctx.environment} yet: run the "
            "training job first"
        )
    return gate(ctx, holder.version, "production")
