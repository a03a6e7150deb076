"""The lake: versioned Delta tables named `<schema>.<table>`, per environment.

Example:
    >>> from lakestack.lake import Lake
    >>> lake = Lake("/tmp/lake", environment="dev")  # doctest: +SKIP
    >>> lake.append("bronze.events", {"id": [1, 2, 3]})  # doctest: +SKIP
    0
    >>> lake.read("bronze.events@0", columns=["id"]).num_rows  # doctest: +SKIP
    3
"""

from __future__ import annotations

from lakestack.lake._catalog import TableInfo, VersionKey
from lakestack.lake._changes import TableChange
from lakestack.lake._events import TableEvent, TableListener
from lakestack.lake._lake import Lake
from lakestack.lake._maintenance import OptimizeResult, VacuumResult
from lakestack.lake._metadata import CodeVersion, Commit, WriteContext, code_version
from lakestack.lake._names import TableName, TableRef
from lakestack.lake._reads import Filters
from lakestack.lake._schema import delta_type, to_arrow
from lakestack.lake._storage import is_object_store, list_tables, mlflow_s3_environment

__all__ = [
    "CodeVersion",
    "Commit",
    "Filters",
    "Lake",
    "OptimizeResult",
    "TableChange",
    "TableEvent",
    "TableInfo",
    "TableListener",
    "TableName",
    "TableRef",
    "VacuumResult",
    "VersionKey",
    "WriteContext",
    "code_version",
    "delta_type",
    "is_object_store",
    "list_tables",
    "mlflow_s3_environment",
    "to_arrow",
]
