"""Moving the `staging` and `production` aliases: promote, rollback, copy across environments.

Every move happens under the model's lock (`_lock.py`): the current holder is read, the gates
run, the alias moves and the transition is appended, with no other promotion of the model in
between. So two processes promoting at once leave an alias and a history that agree.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakestack.errors import GateFailedError, RegistryError
from lakestack.registry._gates import evaluate_gates, read_holdout
from lakestack.registry._lock import model_lock
from lakestack.registry._tracking import create_version, ensure_experiment, to_info
from lakestack.registry._transitions import (
    append_transition,
    new_transition,
    previous_holder,
    read_transitions,
)
from lakestack.registry._types import (
    STAGES,
    TAG_PREFIX,
    GateReport,
    ModelVersionInfo,
    Promotion,
    Transition,
)

if TYPE_CHECKING:
    from lakestack.registry._registry import ModelRegistry

__all__ = ["copy_version", "promote", "rollback"]


def _check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise RegistryError(f"unknown stage {stage!r}: use one of {', '.join(STAGES)}")


def _authorize(reg: ModelRegistry, action: str, obj: str) -> None:
    """Check the registry's principal may do this here (`lakestack.access`); audit it."""
    from lakestack.access import authorize_writer

    authorize_writer(reg.project, action, reg.lake, obj)


def _move(reg: ModelRegistry, model: str, stage: str, to: int) -> None:
    reg.client.set_registered_model_alias(model, stage, str(to))


def _record_move(
    reg: ModelRegistry, model: str, stage: str, transition: Transition, previous: int | None
) -> None:
    """Append the transition; if that fails, put the alias back so the two never disagree."""
    try:
        append_transition(reg.lake, transition)
    except Exception:
        if previous is None:
            reg.client.delete_registered_model_alias(model, stage)
        else:
            reg.client.set_registered_model_alias(model, stage, str(previous))
        raise


def _log_gates(reg: ModelRegistry, report: GateReport, forced: bool, reason: str) -> None:
    """Record the gate results in MLflow: a run with the numbers, and tags on the version."""
    from mlflow.entities import Metric

    if not report.results:
        return
    client = reg.client
    experiment = ensure_experiment(
        client, reg.experiment_name(report.model), reg.environment, reg.project.state_dir
    )
    tags = {
        f"{TAG_PREFIX}gates.model": report.model,
        f"{TAG_PREFIX}gates.version": str(report.version),
        f"{TAG_PREFIX}gates.stage": report.stage,
        f"{TAG_PREFIX}gates.passed": str(report.passed).lower(),
        f"{TAG_PREFIX}gates.forced": str(forced).lower(),
        "mlflow.user": reg.lake.context.principal,
    }
    if reason:
        tags[f"{TAG_PREFIX}gates.reason"] = reason[:5000]
    run = client.create_run(
        experiment, run_name=f"gates v{report.version} -> {report.stage}", tags=tags
    )
    now = int(time.time() * 1000)
    metrics = []
    for i, result in enumerate(report.results):
        metrics.append(Metric(f"gate{i}.{result.kind}.passed", float(result.passed), now, 0))
        for key, value in result.numbers.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                metrics.append(Metric(f"gate{i}.{result.kind}.{key}", float(value), now, 0))
    client.log_batch(run.info.run_id, metrics=metrics[:1000])
    client.log_text(
        run.info.run_id, json.dumps(report.to_dict(), indent=2, default=str), "gates.json"
    )
    client.set_terminated(run.info.run_id, "FINISHED")
    version = str(report.version)
    status = "passed" if report.passed else ("forced" if forced else "failed")
    client.set_model_version_tag(report.model, version, f"{TAG_PREFIX}gates.{report.stage}", status)
    client.set_model_version_tag(
        report.model, version, f"{TAG_PREFIX}gates.{report.stage}.run_id", run.info.run_id
    )


def promote(
    reg: ModelRegistry,
    model: str,
    version: int | str,
    *,
    to: str,
    force: bool = False,
    reason: str = "",
    holdout: Any = None,
    label: str | None = None,
    to_env: str | None = None,
    raise_on_failure: bool = True,
) -> Promotion:
    """Give a version the alias `to` if it passes the model's gates.

    Under the model's lock: the gates run (against the current `production` version), the
    results are logged to MLflow and, if every FAIL gate passed, the alias moves; the
    transition (or the refusal) is appended to `system.model_transitions`.

    Args:
        model: the registered model.
        version: a version number or alias.
        to: `staging` or `production`.
        force: move the alias even if gates fail (they still run and are recorded).
        reason: why; required with `force`, recorded always.
        holdout: the frame the gates score (default: the holdout recorded with the version).
        label: the holdout's label column.
        to_env: copy the version into this environment's registry first (with its
            lineage) and promote the copy there, against that environment's gates.
        raise_on_failure: raise `GateFailedError` when a gate fails (else return).

    Returns:
        What happened, with the gate report.

    Raises:
        GateFailedError: a FAIL gate failed (with `raise_on_failure`); no alias moved.
        RegistryError: an unknown model, version or stage; force without a reason.
    """
    _check_stage(to)
    if force and not reason.strip():
        raise RegistryError(
            "force=True overrides the gates and needs a reason (--reason on the CLI); "
            "it is recorded with the transition"
        )
    if to_env is not None and to_env != reg.environment.name:
        recorded = reg.version(model, version).holdout
        if holdout is None and recorded is not None:
            # Read here, where the holdout lives: the target need not be granted this lake.
            holdout = read_holdout(reg, recorded)
            label = label or recorded.label
        copied = copy_version(reg, model, version, to_env=to_env)
        target = reg.for_environment(to_env)
        return promote(
            target,
            model,
            copied.version,
            to=to,
            force=force,
            reason=reason,
            holdout=holdout,
            label=label,
            raise_on_failure=raise_on_failure,
        )
    candidate = reg.version(model, version)
    _authorize(reg, f"model.promote.{to}", f"{model} v{candidate.version}")
    with model_lock(reg.environment.tracking_uri, reg.lock_dir, model):
        current = reg.alias_holder(model, to)
        previous = None if current is None else current.version
        if previous == candidate.version:  # nothing to move, nothing to record
            report = GateReport(model, candidate.version, to, previous, ())
            return Promotion(
                model, candidate.version, to, reg.environment.name, previous, False, force,
                report, None,
            )  # fmt: skip
        report = evaluate_gates(
            reg, model, candidate.version, stage=to, holdout=holdout, label=label
        )
        _log_gates(reg, report, force, reason)
        refused = not report.passed and not force
        transition = new_transition(
            reg.lake,
            model=model,
            stage=to,
            action="promote",
            outcome="refused" if refused else "applied",
            from_version=previous,
            to_version=candidate.version,
            reason=reason,
            forced=force,
            gate_results=report.to_json(),
        )
        if refused:
            append_transition(reg.lake, transition)
        else:
            _move(reg, model, to, candidate.version)
            _record_move(reg, model, to, transition, previous)
    promotion = Promotion(
        model, candidate.version, to, reg.environment.name, previous, not refused, force,
        report, transition,
    )  # fmt: skip
    if refused and raise_on_failure:
        raise GateFailedError(
            f"{model} version {candidate.version} was not promoted to {to} in "
            f"{reg.environment.name}: {len(report.failures)} gate(s) failed, and "
            f"{model}@{to} stays at {previous if previous is not None else 'no version'}.\n"
            f"{report.summary()}\nFix the model, or pass force=True with a reason to override."
        )
    return promotion


def rollback(
    reg: ModelRegistry, model: str, *, stage: str = "production", reason: str = ""
) -> Transition:
    """See `ModelRegistry.rollback`."""
    _check_stage(stage)
    _authorize(reg, f"model.rollback.{stage}", model)
    with model_lock(reg.environment.tracking_uri, reg.lock_dir, model):
        current = reg.alias_holder(model, stage)
        if current is None:
            raise RegistryError(
                f"{model} has no {stage} alias in {reg.environment.name}, so there is nothing "
                "to roll back"
            )
        history = read_transitions(reg.lake, model, stage=stage)
        target = previous_holder(history, model, stage, current.version)
        reg.version(model, target)  # it must still exist
        transition = new_transition(
            reg.lake,
            model=model,
            stage=stage,
            action="rollback",
            outcome="applied",
            from_version=current.version,
            to_version=target,
            reason=reason or f"rollback of version {current.version}",
        )
        _move(reg, model, stage, target)
        _record_move(reg, model, stage, transition, current.version)
    return transition


def copy_version(
    reg: ModelRegistry, model: str, version: int | str, *, to_env: str
) -> ModelVersionInfo:
    """See `ModelRegistry.copy_version`."""
    from mlflow.artifacts import download_artifacts
    from mlflow.entities import LoggedModelOutput, LoggedModelStatus, Metric, Param

    source = reg.version(model, version)
    target = reg.for_environment(to_env)
    if target.environment.name == reg.environment.name:
        raise RegistryError(f"copy_version needs another environment than {to_env!r}")
    _authorize(target, "model.copy", f"{model} v{source.version} from {reg.environment.name}")
    client = target.client
    lineage = {k: v for k, v in source.tags.items() if k.startswith(TAG_PREFIX)}
    lineage = {k: v for k, v in lineage.items() if not k.startswith(f"{TAG_PREFIX}gates.")}
    origin = {"environment": reg.environment.name, "model": model, "version": source.version}
    tags = {**lineage, f"{TAG_PREFIX}copied_from": json.dumps(origin, sort_keys=True)}
    experiment = ensure_experiment(
        client, target.experiment_name(model), target.environment, target.project.state_dir
    )
    run = client.create_run(
        experiment,
        run_name=f"{model} copied from {reg.environment.name} v{source.version}",
        tags={**tags, "mlflow.user": target.lake.context.principal},
    )
    run_id = run.info.run_id
    logged = client.create_logged_model(experiment, name=model, source_run_id=run_id, tags=tags)
    client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
    if source.run_id:
        data = reg.client.get_run(source.run_id).data
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[
                Metric(k, v, now, 0, model_id=logged.model_id) for k, v in data.metrics.items()
            ],
            params=[Param(k, v) for k, v in data.params.items()],
        )
    with tempfile.TemporaryDirectory(prefix="lakestack-copy-") as tmp:
        uri = reg.client.get_model_version_download_uri(model, str(source.version))
        local = download_artifacts(
            artifact_uri=uri, dst_path=tmp, tracking_uri=reg.environment.tracking_uri
        )
        client.log_model_artifacts(logged.model_id, str(Path(local)))
    client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    client.set_terminated(run_id, "FINISHED")
    mv = create_version(
        client,
        model,
        logged,
        run_id=run_id,
        tags=tags,
        description=source.description,
        model_description=target.model_config(model).description,
    )
    copied = to_info(mv)
    append_transition(
        target.lake,
        new_transition(
            target.lake,
            model=model,
            action="copy",
            outcome="applied",
            to_version=copied.version,
            reason=f"copied from {reg.environment.name} version {source.version}",
        ),
    )
    return copied
