"""What a lake tells its listeners after every read and write (lineage records these)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["TableEvent", "TableListener"]


@dataclass(frozen=True)
class TableEvent:
    """A read or a write of a table, as passed to listeners (lineage records these).

    Attributes:
        kind: `read` or `write`.
        environment: the environment whose lake holds the table.
        table: `<schema>.<table>`.
        version: the Delta version read, or the version the write created.
        operation: `read`, `create`, `append`, `overwrite`, `merge`, `delete`, `optimize`, ...
    """

    kind: Literal["read", "write"]
    environment: str
    table: str
    version: int
    operation: str


TableListener = Callable[[TableEvent], None]
