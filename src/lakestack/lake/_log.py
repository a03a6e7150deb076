"""Reading a table's commit log consistently while other processes write to it.

deltalake's `DeltaTable.history` lists the commits in storage but numbers them back from the
version the table object was loaded at: a commit landing in between shifts every number (the
newest commit is reported as an older version, the oldest as a negative one) and the limit is
ignored. The history is read again until no commit landed while it was read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakestack.errors import LakeError

if TYPE_CHECKING:
    from deltalake import DeltaTable

__all__ = ["stable_history", "version_at"]

_ATTEMPTS = 20


def stable_history(
    open_table: Callable[[], DeltaTable], table: str, limit: int | None = None
) -> list[dict[str, Any]]:
    """The table's commit entries, newest first, numbered right under concurrent writers.

    Args:
        open_table: opens the table at its latest version.
        table: the table's name, for the error.
        limit: only the newest `limit` commits.

    Raises:
        LakeError: commits kept landing during every read (a writer busier than the reader).
    """
    delta = open_table()
    for _ in range(_ATTEMPTS):
        version = delta.version()
        entries = delta.history(limit)
        delta.update_incremental()
        if delta.version() == version:
            return entries[:limit] if limit is not None else entries
    raise LakeError(
        f"the history of table {table} kept changing while it was read ({_ATTEMPTS} attempts): "
        "its writers commit faster than it can be listed; try again, or ask for fewer commits "
        "with a limit"
    )


def version_at(entries: list[dict[str, Any]], as_of: datetime | str, table: str) -> int:
    """The version current at `as_of`: the newest whose commit time (as `history` shows it) is at
    or before it; a moment without a zone is UTC. (Delta's own travel by time goes by the log
    files' modification times, a little later than the commit times `history` shows.)

    Args:
        entries: the table's commit entries (`stable_history`).
        as_of: the moment, or its ISO 8601 text.
        table: the table's name, for the errors.

    Raises:
        LakeError: `as_of` is not a moment, or the table's first commit is later.
    """
    try:
        moment = datetime.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    except ValueError as exc:
        raise LakeError(
            f"as_of {as_of!r} for table {table} is not a moment: give an ISO 8601 time such as "
            "2026-01-31T12:00:00+00:00"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # the commit times exactly as `Commit.timestamp` gives them (milliseconds as a UTC moment)
    times = {
        int(e["version"]): datetime.fromtimestamp(int(e["timestamp"]) / 1000, UTC) for e in entries
    }
    at = [version for version, time in times.items() if time <= moment]
    if not at:
        since = min(times.values()).isoformat() if times else "never"
        raise LakeError(
            f"table {table} has no version at {moment.isoformat()}: its first commit is at "
            f"{since}. See `lakestack tables history` for its versions."
        )
    return max(at)
