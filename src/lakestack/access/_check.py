"""`authorize`: the one check every governed action calls, and its audit record."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from lakestack.access._audit import AuditRecord, write_audit
from lakestack.access._identity import Caller, current_caller, current_origin, is_authority
from lakestack.access._policy import Decision, access_enabled, decide
from lakestack.access._roles import action
from lakestack.errors import AccessDeniedError, AccessError, AuthenticationError

if TYPE_CHECKING:
    from lakestack.config import Environment, Project

__all__ = ["TableWriteGuard", "Writer", "authorize", "authorize_writer", "table_write_guard"]

# Tables that lakestack writes as a consequence of an action audited on its own (a promotion
# writes system.model_transitions, an endpoint its inference log, a monitor its metrics).
# Their writes are checked like any other, but an allowed one is not audited row by row.
_BOOKKEEPING_SCHEMAS = ("system", "inference", "monitoring")

TableWriteGuard = Callable[[str, str, str, "str | None"], None]
"""`guard(environment, table, principal, run_id)`: raises when the write is not allowed."""


def authorize(
    project: Project,
    action_name: str,
    environment: str | None = None,
    *,
    obj: str = "",
    principal: str | None = None,
    run_id: str | None = None,
    audit: bool = True,
) -> Decision:
    """Check that the acting principal may do an action, and record it in `system.audit`.

    A project without `access.principals` is single-user: everything is allowed and nothing
    recorded. Otherwise the principal's role in the environment must be at least the one the
    action needs there, and a write to an environment with a `control_plane` must come from
    that server.

    Args:
        project: the project.
        action_name: the action, e.g. `table.write` or `model.promote.production`.
        environment: the environment acted on (default: the project's default).
        obj: what the action is on (a table, `model v3`, a job), for messages and the audit.
        principal: who acts (default: the current caller: a server request's principal,
            `LAKESTACK_TOKEN`'s, or `LAKESTACK_PRINCIPAL`/the OS user).
        run_id: the pipeline run acting, recorded in the audit.
        audit: record an allowed action (a denied one is always recorded).

    Returns:
        The decision (allowed).

    Raises:
        AccessDeniedError: the role does not allow it; the message names the principal, the
            action, the environment and the role that would allow it.
        AuthenticationError: `LAKESTACK_TOKEN` is set but does not work in the environment.

    Example:
        >>> authorize(project, "model.promote.production", "prod", obj="flights_delay v3")
        ... # doctest: +SKIP
    """
    env = project.environment(environment)
    act = action(action_name)
    if not access_enabled(project):
        reason = "single-user project: no access.principals in lakestack.yaml"
        return Decision(True, principal or "", act.name, env.name, obj, None, act.role, reason)
    caller = _caller_for(project, env, action_name, obj, principal, run_id)
    decision = decide(project, caller.principal, act.name, env.name, obj)
    if (
        decision.allowed
        and act.kind == "write"
        and env.control_plane
        and not is_authority(env.name)
    ):
        decision = Decision(
            False, caller.principal, act.name, env.name, obj, decision.role, decision.needed,
            f"{env.name} is written only through its control plane at {env.control_plane}: "
            f"set LAKESTACK_TOKEN to a token of {caller.principal} and run the command again "
            "(the CLI sends it there), or call the server's API",
        )  # fmt: skip
    if audit or not decision.allowed:
        _record(env, decision, caller.origin, run_id)
    if not decision.allowed:
        raise AccessDeniedError(decision.reason)
    return decision


class _Context(Protocol):
    @property
    def principal(self) -> str: ...  # pragma: no cover

    @property
    def run_id(self) -> str | None: ...  # pragma: no cover


class Writer(Protocol):
    """What `authorize_writer` needs of a writer: a `Lake` (its environment and context)."""

    @property
    def environment(self) -> str: ...  # pragma: no cover

    @property
    def context(self) -> _Context: ...  # pragma: no cover


def authorize_writer(project: Project, action_name: str, writer: Writer, obj: str = "") -> Decision:
    """`authorize` as the principal and pipeline run a lake writes as, in its environment.

    Example:
        >>> authorize_writer(project, "feature.publish", lake, "features.weather")
        ... # doctest: +SKIP
    """
    context = writer.context
    return authorize(
        project,
        action_name,
        writer.environment,
        obj=obj,
        principal=context.principal,
        run_id=context.run_id,
    )


def _caller_for(
    project: Project,
    env: Environment,
    action_name: str,
    obj: str,
    principal: str | None,
    run_id: str | None,
) -> Caller:
    if principal is not None:
        return Caller(principal, current_origin())
    try:
        return current_caller(project, env.name)
    except AuthenticationError as exc:
        refused = Decision(False, "?", action_name, env.name, obj, None, "reader", str(exc))
        _record(env, refused, current_origin(), run_id)
        raise


def _record(env: Environment, decision: Decision, origin: str, run_id: str | None) -> None:
    record = AuditRecord.new(
        environment=decision.environment,
        principal=decision.principal,
        action=decision.action,
        object=decision.object,
        outcome="allowed" if decision.allowed else "denied",
        reason=decision.reason,
        role=decision.role,
        origin=origin,
        run_id=run_id,
    )
    try:
        write_audit(env, [record])
    except Exception as exc:  # fail closed: no unrecorded action
        raise AccessError(
            f"the audit record of {decision.principal}'s {decision.action} in {env.name} could "
            f"not be written to system.audit ({type(exc).__name__}: {exc}), so the action was "
            "not done; check that the environment's lake is writable"
        ) from exc


def table_write_guard(project: Project) -> TableWriteGuard | None:
    """The check a `Lake` of the project runs before each write (None when single-user)."""
    if not access_enabled(project):
        return None

    def guard(environment: str, table: str, principal: str, run_id: str | None) -> None:
        bookkeeping = table.split(".", 1)[0] in _BOOKKEEPING_SCHEMAS
        authorize(
            project,
            "table.write",
            environment,
            obj=table,
            principal=principal,
            run_id=run_id,
            audit=not bookkeeping,
        )

    return guard
