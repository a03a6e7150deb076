"""Model validation: the gates of `models.<name>.gates` in lakestack.yaml, run on the new
version's holdout; a version that passes gets the alias of the `stage` param (`staging`).

The gates block by default: a failed gate fails this task, so the job fails and says which
gate and why, and no alias moves. With `dry_run: true` they only report (the task says so
and succeeds), e.g. `lakestack run training --param dry_run=true` to look at a model first.
"""

from __future__ import annotations

from typing import Any

from lakestack.pipelines import TaskContext
from lakestack.registry import GateReport, ModelRegistry

from . import settings


def gate(ctx: TaskContext, version: int, stage: str) -> dict[str, Any]:
    """Gate `version` for `stage` and move the alias if it passes (only report on `dry_run`).

    Raises:
        GateFailedError: a gate failed and this is no dry run; the alias did not move.
    """
    registry = ModelRegistry(ctx.project, ctx.environment, lake=ctx.lake)
    if ctx.params.get("dry_run"):
        report = registry.evaluate_gates(settings.MODEL, version, stage=stage)
        _log(ctx, report)
        ctx.logger.warning(
            "dry run: the gates were reported, not enforced; %s@%s did not move (%s)",
            settings.MODEL,
            stage,
            "they passed" if report.passed else f"{len(report.failures)} failed",
        )
        return {"version": version, "stage": stage, "promoted": False, "dry_run": True,
                "passed": report.passed}  # fmt: skip
    result = registry.promote(settings.MODEL, version, to=stage, raise_on_failure=False)
    _log(ctx, result.report)
    if not result.applied and result.transition is not None:
        from lakestack.errors import GateFailedError

        raise GateFailedError(
            f"{settings.MODEL} version {version} failed {len(result.report.failures)} gate(s) "
            f"for {stage}; {settings.MODEL}@{stage} did not move:\n{result.report.summary()}"
        )
    return {"version": version, "stage": stage, "promoted": result.applied, "passed": True}


def _log(ctx: TaskContext, report: GateReport) -> None:
    for result in report.results:
        ctx.logger.info(
            "%s %s: %s", "PASS" if result.passed else "FAIL", result.name, result.message
        )


def validate(ctx: TaskContext) -> dict[str, Any]:
    """Gate the version `register` logged for the `stage` param (default `staging`)."""
    return gate(ctx, ctx.upstream["register"]["version"], ctx.params.get("stage", "staging"))
