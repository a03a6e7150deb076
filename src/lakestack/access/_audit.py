"""The audit log: `system.audit` of each environment, one row per checked action.

Every write, promotion, deployment, trigger, token and grant change is recorded, allowed or
denied: when, who, what, on which object, with which outcome and why.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakestack.access._store import AUDIT_TABLE, append_rows, read_rows

if TYPE_CHECKING:
    from lakestack.config import Environment

__all__ = ["AuditRecord", "read_audit", "write_audit"]


@dataclass(frozen=True)
class AuditRecord:
    """One row of `system.audit`.

    Attributes:
        audit_id: a unique id.
        ts: when (UTC).
        environment: the environment acted on.
        principal: who acted (`?` when a token could not be verified).
        action: the action, e.g. `table.write` or `model.promote.production`.
        object: what it acted on, e.g. `silver.flights` or `flights_delay v3`.
        outcome: `allowed` or `denied`.
        reason: why: the role that allowed it, or what was missing.
        role: the principal's role in the environment, if any.
        origin: where the request came from (`local host:pid`, `http 10.0.0.7`).
        run_id: the pipeline run acting, if any.
    """

    audit_id: str
    ts: datetime
    environment: str
    principal: str
    action: str
    object: str
    outcome: str
    reason: str
    role: str | None
    origin: str
    run_id: str | None

    @classmethod
    def new(cls, **fields: Any) -> AuditRecord:
        """A record stamped now with a fresh id."""
        return cls(audit_id=uuid.uuid4().hex, ts=datetime.now(UTC), **fields)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ts"] = self.ts.isoformat()
        return out


def write_audit(env: Environment, records: list[AuditRecord]) -> None:
    """Append records to the environment's `system.audit` in one commit."""
    if records:
        append_rows(env, AUDIT_TABLE, [asdict(record) for record in records])


def read_audit(
    env: Environment,
    *,
    principal: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    limit: int | None = None,
) -> list[AuditRecord]:
    """The environment's audit records, newest first.

    Args:
        principal: only this principal's.
        action: only this action, or the actions under it (`model.promote` matches
            `model.promote.production`).
        outcome: only `allowed` or only `denied`.
        limit: at most this many.
    """
    records = [AuditRecord(**row) for row in read_rows(env, AUDIT_TABLE, max_age=0.0)]
    if principal is not None:
        records = [r for r in records if r.principal == principal]
    if action is not None:
        records = [r for r in records if r.action == action or r.action.startswith(action + ".")]
    if outcome is not None:
        records = [r for r in records if r.outcome == outcome]
    records.sort(key=lambda r: r.ts, reverse=True)
    return records[:limit] if limit is not None else records
