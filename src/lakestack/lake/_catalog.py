"""The catalog: what a lake holds, table by table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakestack.lake._metadata import Commit
from lakestack.lake._names import TableName

if TYPE_CHECKING:
    import pyarrow as pa

    from lakestack.lake._lake import Lake

__all__ = ["TableInfo", "describe"]


@dataclass(frozen=True)
class TableInfo:
    """One table as the catalog shows it.

    Attributes:
        name: `<schema>.<table>`.
        environment: the environment whose lake holds it.
        location: where it is stored.
        version: its latest Delta version.
        rows: the number of rows in that version.
        files: the number of data files.
        size_bytes: their total size.
        schema: its Arrow schema.
        description: the description given at creation.
        last_commit: the latest commit, with its writer.
    """

    name: str
    environment: str
    location: str
    version: int
    rows: int
    files: int
    size_bytes: int
    schema: pa.Schema
    description: str | None
    last_commit: Commit | None

    @property
    def columns(self) -> list[tuple[str, str]]:
        """`(name, type)` of every column."""
        return [(field.name, str(field.type)) for field in self.schema]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "environment": self.environment,
            "location": self.location,
            "version": self.version,
            "rows": self.rows,
            "files": self.files,
            "size_bytes": self.size_bytes,
            "columns": [{"name": n, "type": t} for n, t in self.columns],
            "description": self.description,
            "last_commit": self.last_commit.to_dict() if self.last_commit else None,
        }


def describe(lake: Lake, name: str | TableName, environment: str | None = None) -> TableInfo:
    """The catalog entry of one table."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = lake.open(TableName.parse(name), environment=environment)
    actions = pa.table(table.get_add_actions(flatten=True))
    rows = pc.sum(actions.column("num_records")).as_py() if actions.num_rows else 0
    size = pc.sum(actions.column("size_bytes")).as_py() if actions.num_rows else 0
    last_commit = _commit_at(lake, name, environment, table.version())
    return TableInfo(
        name=str(TableName.parse(name)),
        environment=environment or lake.environment,
        location=lake.path(name, environment),
        version=table.version(),
        rows=int(rows or 0),
        files=actions.num_rows,
        size_bytes=int(size or 0),
        schema=pa.schema(table.schema().to_arrow()),
        description=table.metadata().description,
        last_commit=last_commit,
    )


def _commit_at(
    lake: Lake, name: str | TableName, environment: str | None, version: int
) -> Commit | None:
    # Writers may have committed since `version` was read: look a few commits back first.
    for limit in (8, None):
        for commit in lake.history(name, limit=limit, environment=environment):
            if commit.version == version:
                return commit
    return None
