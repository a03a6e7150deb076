"""Table names (`<schema>.<table>`) and references with a version pin (`silver.flights@7`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from lakestack.errors import TableNameError

__all__ = ["TableName", "TableRef"]

_PART = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True, order=True)
class TableName:
    """A validated table name: lower-case `<schema>.<table>`, each part a SQL identifier."""

    schema: str
    table: str

    @classmethod
    def parse(cls, name: str | TableName) -> TableName:
        """Parse `schema.table`.

        Raises:
            TableNameError: the name is not two lower-case identifiers joined by a dot.
        """
        if isinstance(name, TableName):
            return name
        parts = name.split(".") if isinstance(name, str) else []
        if len(parts) != 2 or not all(_PART.match(part) for part in parts):
            raise TableNameError(
                f"invalid table name {name!r}: write <schema>.<table>, each part lower-case "
                "letters, digits and '_' starting with a letter (for example silver.flights)"
            )
        return cls(parts[0], parts[1])

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass(frozen=True)
class TableRef:
    """A table name with an optional pin: `silver.flights`, `silver.flights@7`,
    `silver.flights@2013-07-01T00:00:00+00:00`."""

    name: TableName
    version: int | None = None
    as_of: datetime | None = None

    @classmethod
    def parse(cls, text: str) -> TableRef:
        """Parse `schema.table[@version|@iso-timestamp]`.

        Raises:
            TableNameError: the name or the pin is malformed.
        """
        base, _, pin = text.partition("@")
        name = TableName.parse(base)
        if not pin:
            return cls(name)
        if pin.isdigit():
            return cls(name, version=int(pin))
        try:
            return cls(name, as_of=datetime.fromisoformat(pin))
        except ValueError:
            raise TableNameError(
                f"invalid pin {pin!r} in {text!r}: write @<version> (for example @7) or "
                "@<ISO timestamp> (for example @2013-07-01T00:00:00+00:00)"
            ) from None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version}"
        if self.as_of is not None:
            return f"{self.name}@{self.as_of.isoformat()}"
        return str(self.name)
