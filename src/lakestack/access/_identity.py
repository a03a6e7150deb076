"""Who is acting: the caller of a server request, a token, or the local user.

In order: the principal a server request authenticated (`acting_as`, set per request), the
principal of `LAKESTACK_TOKEN` verified against the environment's token store, then the name
in `LAKESTACK_PRINCIPAL` or the OS user. The last is only a claim: on a machine with file
access to the lake anyone can claim any name (docs/access.md says what that means).
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakestack.config import Project

__all__ = [
    "AUTHORITY_VARIABLE",
    "Caller",
    "acting_as",
    "claimed_principal",
    "current_caller",
    "current_origin",
    "is_authority",
]

AUTHORITY_VARIABLE = "LAKESTACK_CONTROL_PLANE_FOR"
"""Set by `lakestack server` (and inherited by its job processes): the environments it governs."""


@dataclass(frozen=True)
class Caller:
    """A principal and where its request came from.

    Attributes:
        principal: the principal's name.
        origin: `local host:pid`, `http 10.0.0.7`, ...
        verified: whether a token proved it (otherwise it is a claim).
        token_id: the id of the token that proved it.
    """

    principal: str
    origin: str
    verified: bool = False
    token_id: str | None = None


_caller: ContextVar[Caller | None] = ContextVar("lakestack_caller", default=None)


@contextmanager
def acting_as(caller: Caller | str) -> Iterator[Caller]:
    """Act as this principal in the current thread or task (a server request does).

    Example:
        >>> with acting_as("ci"):  # doctest: +SKIP
        ...     registry.promote("flights_delay", 3, to="staging")
    """
    if isinstance(caller, str):
        caller = Caller(caller, _local_origin())
    token = _caller.set(caller)
    try:
        yield caller
    finally:
        _caller.reset(token)


def claimed_principal() -> str:
    """`LAKESTACK_PRINCIPAL`, else the OS user: who the local process says it is."""
    try:
        return os.environ.get("LAKESTACK_PRINCIPAL") or getpass.getuser()
    except (KeyError, OSError):  # no user name in a container without an /etc/passwd entry
        return "unknown"


def _local_origin() -> str:
    return f"local {socket.gethostname()}:{os.getpid()}"


def current_origin() -> str:
    """Where the current request comes from (this process, unless a server request acts)."""
    acting = _caller.get()
    return acting.origin if acting is not None else _local_origin()


def current_caller(project: Project, environment: str) -> Caller:
    """Who acts in this environment now.

    Raises:
        AuthenticationError: `LAKESTACK_TOKEN` is set but does not work in the environment.
    """
    from lakestack.access._tokens import verify_token

    acting = _caller.get()
    if acting is not None:
        return acting
    token = os.environ.get("LAKESTACK_TOKEN")
    if token:
        info = verify_token(project.environment(environment), token)
        return Caller(info.principal, _local_origin(), verified=True, token_id=info.token_id)
    return Caller(claimed_principal(), _local_origin())


def is_authority(environment: str) -> bool:
    """Whether this process is (a job of) the control-plane server of the environment."""
    governed = os.environ.get(AUTHORITY_VARIABLE, "")
    return environment in {name.strip() for name in governed.split(",")}
