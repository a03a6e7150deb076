"""Reading one version of a Delta table as Arrow: columns checked, filters pushed down."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lakestack.errors import LakeError, TableNotFoundError

if TYPE_CHECKING:
    import pyarrow as pa
    from deltalake import DeltaTable

__all__ = ["Filters", "open_table", "read_arrow"]

# deltalake's DNF filters, e.g. [("origin", "=", "JFK"), ("month", "in", [6, 7])]
Filters = Sequence[tuple[str, str, Any]] | Sequence[Sequence[tuple[str, str, Any]]]


def open_table(uri: str, options: dict[str, str] | None, name: str, environment: str) -> DeltaTable:
    """The table at `uri`, latest version.

    Raises:
        TableNotFoundError: there is no table there; the message names it and the lake.
    """
    from deltalake import DeltaTable

    try:
        return DeltaTable(uri, storage_options=options)
    except Exception as exc:
        if (
            type(exc).__name__ == "TableNotFoundError"
            or "no files in log segment" in str(exc).lower()
        ):
            raise TableNotFoundError(
                f"table {name} does not exist in the {environment!r} lake ({uri}). "
                "Check the name with `lakestack tables list`, or write it first."
            ) from None
        raise


def read_arrow(
    table: DeltaTable,
    name: str,
    *,
    columns: Sequence[str] | None,
    filters: Filters | None,
    limit: int | None,
) -> pa.Table:
    """The rows of `table` (opened at the version to read), `limit` first ones or all.

    Raises:
        LakeError: an unknown column, or filters the table cannot apply.
    """
    known = [field.name for field in table.schema().fields]
    unknown = [c for c in (columns or []) if c not in known]
    if unknown:
        raise LakeError(
            f"table {name} has no column(s) {', '.join(unknown)}; its columns: {', '.join(known)}"
        )
    wanted = list(columns) if columns is not None else None
    try:
        if limit is not None:
            return table.to_pyarrow_dataset().head(limit, columns=wanted)
        return table.to_pyarrow_table(
            columns=wanted,
            filters=list(filters) if filters else None,  # type: ignore[arg-type]
        )
    except Exception as exc:
        raise LakeError(f"reading {name} with filters {filters!r} failed: {exc}") from exc
