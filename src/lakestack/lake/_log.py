"""Reading a table's commit log consistently while other processes write to it.

deltalake's `DeltaTable.history` lists the commits in storage but numbers them back from the
version the table object was loaded at: a commit landing in between shifts every number (the
newest commit is reported as an older version, the oldest as a negative one) and the limit is
ignored. The history is read again until no commit landed while it was read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lakestack.errors import LakeError

if TYPE_CHECKING:
    from deltalake import DeltaTable

__all__ = ["stable_history"]

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
