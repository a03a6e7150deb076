"""Who may do what: principals, roles per environment, tokens and the audit log.

`lakestack.yaml` declares principals (people and CI service principals) and their role per
environment: `reader`, `developer`, `deployer`, `admin`. Every governed action (lake writes,
registry changes, runs and triggers, feature publishes, alert actions, deploys) calls
`authorize`, which checks the acting principal's role and appends the attempt, allowed or
denied, to the environment's `system.audit`. Tokens are shown once and stored as hashes with an
expiry in the environment's lake. A project without principals is single-user: nothing is
checked. docs/access.md says what this protects and what a local file system cannot.

Example:
    >>> from lakestack.access import authorize, create_token
    >>> authorize(project, "model.promote.production", "prod", obj="flights_delay v3")
    ... # doctest: +SKIP
    >>> create_token(project, "ci", ["staging"], days=30, name="github").token  # doctest: +SKIP
    'lks_...'
"""

from __future__ import annotations

from lakestack.access._admin import (
    NewToken,
    PrincipalView,
    create_token,
    grant_role,
    list_principals,
    list_tokens,
    revoke_role,
    revoke_token,
)
from lakestack.access._audit import AuditRecord, read_audit
from lakestack.access._check import (
    TableWriteGuard,
    Writer,
    authorize,
    authorize_writer,
    table_write_guard,
)
from lakestack.access._gate import BearerAuth, Refusal, TokenGate, gate_wsgi
from lakestack.access._identity import (
    AUTHORITY_VARIABLE,
    Caller,
    acting_as,
    claimed_principal,
    current_caller,
    is_authority,
)
from lakestack.access._policy import Decision, access_enabled, decide, is_protected, role_of
from lakestack.access._roles import ACTIONS, ROLES, Action, at_least
from lakestack.access._tokens import TokenInfo, verify_token

__all__ = [
    "ACTIONS",
    "AUTHORITY_VARIABLE",
    "ROLES",
    "Action",
    "AuditRecord",
    "BearerAuth",
    "Caller",
    "Decision",
    "NewToken",
    "PrincipalView",
    "Refusal",
    "TableWriteGuard",
    "TokenGate",
    "TokenInfo",
    "Writer",
    "access_enabled",
    "acting_as",
    "at_least",
    "authorize",
    "authorize_writer",
    "claimed_principal",
    "create_token",
    "current_caller",
    "decide",
    "gate_wsgi",
    "grant_role",
    "is_authority",
    "is_protected",
    "list_principals",
    "list_tokens",
    "read_audit",
    "revoke_role",
    "revoke_token",
    "role_of",
    "table_write_guard",
    "verify_token",
]
