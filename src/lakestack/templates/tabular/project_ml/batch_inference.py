"""Batch inference: the clean table scored by the production model into the predictions table
(each row with the model version that scored it)."""

from __future__ import annotations

from typing import Any

from lakestack.pipelines import TaskContext
from lakestack.serving import score_table

from . import settings


def score(ctx: TaskContext) -> dict[str, Any]:
    """Score `settings.CLEAN_TABLE` with the `stage` param's model (default `production`)."""
    stage = ctx.params.get("stage", "production")
    result = score_table(
        ctx.project,
        f"{settings.MODEL}@{stage}",
        settings.CLEAN_TABLE,
        settings.PREDICTIONS_TABLE,
        ctx.environment,
    )
    ctx.logger.info("scored %s rows with %s", result.rows, result.model_version)
    return {"rows": result.rows, "model_version": result.model_version}
