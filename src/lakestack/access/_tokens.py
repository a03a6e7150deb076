"""Bearer tokens: shown once, stored as SHA-256 hashes with an expiry in `system.access_tokens`.

A token reads `lks_<id>_<secret>`. The id finds its record (and names it in listings and
revocations); only the hash of the whole token is stored, so the lake never holds a token
that works. The table is append-only: a token's `created` row, and later maybe its `revoked`
row.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from lakestack.access._store import TOKENS_TABLE, append_rows, read_rows
from lakestack.errors import AuthenticationError

if TYPE_CHECKING:
    from lakestack.config import Environment

__all__ = [
    "TokenInfo",
    "append_revocation",
    "expiry",
    "hash_token",
    "new_token",
    "token_rows",
    "tokens",
    "verify_token",
]

_PREFIX = "lks"


@dataclass(frozen=True)
class TokenInfo:
    """A token's record (never the token itself).

    Attributes:
        token_id: the public part of the token, `lks_<token_id>_...`.
        principal: whose token it is.
        environment: the environment whose store holds it (it works there only).
        name: what it is for (`laptop`, `github-actions`).
        created_at: when it was created.
        created_by: who created it.
        expires_at: when it stops working.
        revoked_at: when it was revoked, if it was.
        revoked_by: who revoked it.
    """

    token_id: str
    principal: str
    environment: str
    name: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    def state(self, now: datetime | None = None) -> Literal["active", "expired", "revoked"]:
        """`active`, `expired` or `revoked` at `now` (default: the current time)."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if (now or datetime.now(UTC)) >= self.expires_at else "active"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("created_at", "expires_at", "revoked_at"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        out["state"] = self.state()
        return out


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored for a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh `(token_id, token)`."""
    token_id = secrets.token_hex(6)
    return token_id, f"{_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"


def token_rows(
    token_id: str, token: str, principal: str, name: str, expires_at: datetime, by: str
) -> dict[str, Any]:
    """The `created` row of a new token."""
    return {
        "token_id": token_id,
        "event": "created",
        "ts": datetime.now(UTC),
        "principal": principal,
        "name": name,
        "sha256": hash_token(token),
        "expires_at": expires_at,
        "by": by,
    }


def append_revocation(env: Environment, info: TokenInfo, by: str) -> None:
    """Append the `revoked` row of a token."""
    append_rows(
        env,
        TOKENS_TABLE,
        [
            {
                "token_id": info.token_id,
                "event": "revoked",
                "ts": datetime.now(UTC),
                "principal": info.principal,
                "name": info.name,
                "sha256": None,
                "expires_at": info.expires_at,
                "by": by,
            }
        ],
    )


def _fold(env: Environment, max_age: float) -> dict[str, tuple[TokenInfo, str]]:
    found: dict[str, tuple[TokenInfo, str]] = {}
    rows = sorted(read_rows(env, TOKENS_TABLE, max_age=max_age), key=lambda r: r["ts"])
    for row in rows:
        if row["event"] == "created":
            info = TokenInfo(
                token_id=row["token_id"],
                principal=row["principal"],
                environment=env.name,
                name=row["name"] or "",
                created_at=row["ts"],
                created_by=row["by"] or "",
                expires_at=row["expires_at"],
            )
            found[info.token_id] = (info, row["sha256"] or "")
        elif row["event"] == "revoked" and row["token_id"] in found:
            info, digest = found[row["token_id"]]
            revoked = TokenInfo(
                **{**asdict(info), "revoked_at": row["ts"], "revoked_by": row["by"]}
            )
            found[info.token_id] = (revoked, digest)
    return found


def tokens(env: Environment, *, max_age: float = 0.0) -> list[TokenInfo]:
    """Every token of the environment's store, newest first."""
    infos = [info for info, _ in _fold(env, max_age).values()]
    return sorted(infos, key=lambda i: i.created_at, reverse=True)


def verify_token(env: Environment, token: str, *, max_age: float = 2.0) -> TokenInfo:
    """The record of a token that works in the environment now.

    Args:
        max_age: seconds a cached read of the token table may be old (a revocation made by
            another process takes effect within it; this process's own at once).

    Raises:
        AuthenticationError: the token is malformed, unknown here, revoked or expired.
    """
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX or not parts[1]:
        raise AuthenticationError(
            "the token is not a lakestack token (lks_<id>_<secret>); create one with "
            "`lakestack access token create`"
        )
    entry = _fold(env, max_age).get(parts[1])
    if entry is None or not hmac.compare_digest(entry[1], hash_token(token.strip())):
        raise AuthenticationError(
            f"token lks_{parts[1]}_... is not known in environment {env.name!r}: tokens work "
            "only in the environments they were created for (`lakestack access token list`)"
        )
    info = entry[0]
    state = info.state()
    if state != "active":
        when = info.revoked_at if state == "revoked" else info.expires_at
        assert when is not None
        raise AuthenticationError(
            f"token lks_{info.token_id}_... of {info.principal} was {state} at "
            f"{when.isoformat(timespec='seconds')}; create a new one with "
            f"`lakestack access token create {info.principal} --env {env.name}`"
        )
    return info


def expiry(days: float) -> datetime:
    """The expiry of a token created now and valid for `days`."""
    return datetime.now(UTC) + timedelta(days=days)
