"""The history of aliases: the Delta table `system.model_transitions` of each environment.

Its columns are declared in `lakestack.system_tables`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakestack.errors import RegistryError
from lakestack.registry._types import Transition
from lakestack.system_tables import MODEL_TRANSITIONS

if TYPE_CHECKING:
    from lakestack.lake import Lake

__all__ = [
    "TRANSITIONS_TABLE",
    "append_transition",
    "new_transition",
    "previous_holder",
    "read_transitions",
]

TRANSITIONS_TABLE = MODEL_TRANSITIONS.name


def new_transition(lake: Lake, **fields: Any) -> Transition:
    """A transition stamped now, by the lake's principal and pipeline run."""
    values: dict[str, Any] = {
        "transition_id": uuid.uuid4().hex,
        "ts": datetime.now(UTC),
        "environment": lake.environment,
        "principal": lake.context.principal,
        "pipeline_run_id": lake.context.run_id,
        "reason": "",
        "forced": False,
        "gate_results": "",
        "stage": "",
        "from_version": None,
        "to_version": None,
    }
    values.update(fields)
    return Transition(**values)


def append_transition(lake: Lake, transition: Transition) -> int:
    """Append one transition (Delta retries concurrent appends); returns the table version."""
    import pyarrow as pa

    row = transition.to_dict()
    row["ts"] = transition.ts
    table = pa.Table.from_pylist([row], schema=MODEL_TRANSITIONS.arrow_schema())
    return lake.append(TRANSITIONS_TABLE, table)


def read_transitions(
    lake: Lake, model: str | None = None, *, stage: str | None = None
) -> list[Transition]:
    """The transitions of a model (or all models), oldest first."""
    if not lake.exists(TRANSITIONS_TABLE):
        return []
    filters: list[tuple[str, str, Any]] = []
    if model is not None:
        filters.append(("model", "=", model))
    if stage is not None:
        filters.append(("stage", "=", stage))
    rows = lake.read(TRANSITIONS_TABLE, filters=filters or None).to_pylist()
    out = [
        Transition(
            transition_id=r["transition_id"],
            ts=r["ts"],
            environment=r["environment"],
            model=r["model"],
            stage=r["stage"] or "",
            action=r["action"],
            outcome=r["outcome"],
            from_version=r["from_version"],
            to_version=r["to_version"],
            principal=r["principal"] or "",
            reason=r["reason"] or "",
            forced=bool(r["forced"]),
            gate_results=r["gate_results"] or "",
            pipeline_run_id=r["pipeline_run_id"],
        )
        for r in rows
    ]
    return sorted(out, key=lambda t: (t.ts, t.transition_id))


def previous_holder(transitions: list[Transition], model: str, stage: str, current: int) -> int:
    """The version `rollback` gives the alias back to, replaying the applied moves.

    Promotions push their version on a stack and rollbacks pop it, so rolling back twice walks
    back two promotions (not back and forth between two versions).

    Raises:
        RegistryError: the history has no earlier holder, or the alias was moved outside
            lakestack so that the history does not end with the current holder.
    """
    stack: list[int] = []
    for t in transitions:
        if t.model != model or t.stage != stage or not t.applied:
            continue
        if t.action == "rollback":
            if stack:
                stack.pop()
            if t.to_version is not None and (not stack or stack[-1] != t.to_version):
                stack.append(t.to_version)
            continue
        if not stack and t.from_version is not None:
            stack.append(t.from_version)
        if t.to_version is not None and (not stack or stack[-1] != t.to_version):
            stack.append(t.to_version)
    if not stack or stack[-1] != current:
        recorded = stack[-1] if stack else None
        raise RegistryError(
            f"{model}@{stage} is version {current}, but the transition history ends with "
            f"version {recorded}: the alias was moved outside lakestack. Use "
            f"`lakestack models promote {model} <version> --to {stage} --force --reason ...` "
            "to set it explicitly."
        )
    if len(stack) < 2:
        raise RegistryError(
            f"{model}@{stage} (version {current}) has no previous holder in the transition "
            f"history, so there is nothing to roll back to. Promote another version instead."
        )
    return stack[-2]
