"""Data validation: schema and statistics, anomalies, drift, and their reports.

Pure computation on Arrow and Polars data. The same statistics serve the data gate before
training and batch scoring (`infer_schema`, `validate`) and the drift metrics of monitoring
windows (`compute_drift`); the baseline is stored as a small JSON :class:`Schema`.

Example:
    >>> import polars as pl
    >>> from lakestack.validation import compute_drift, infer_schema, validate
    >>> train = pl.DataFrame({"x": [float(i) for i in range(1000)], "c": ["a", "b"] * 500})
    >>> schema = infer_schema(train)
    >>> validate(train, schema).passed
    True
    >>> compute_drift(train, schema).drifted_columns
    []
"""

from __future__ import annotations

from lakestack.validation._anomalies import (
    Anomaly,
    AnomalyKind,
    Severity,
    ValidationOptions,
    ValidationReport,
    validate,
)
from lakestack.validation._drift import (
    ColumnDrift,
    DriftMethod,
    DriftReport,
    DriftThresholds,
    compute_drift,
)
from lakestack.validation._metrics import (
    PSI_EPSILON,
    StatResult,
    chi_square,
    jensen_shannon,
    ks_2samp,
    psi,
)
from lakestack.validation._schema import (
    CategoricalStats,
    ColumnSchema,
    Histogram,
    LogicalType,
    NumericStats,
    Schema,
    TemporalStats,
)
from lakestack.validation._stats import infer_schema

__all__ = [
    "PSI_EPSILON",
    "Anomaly",
    "AnomalyKind",
    "CategoricalStats",
    "ColumnDrift",
    "ColumnSchema",
    "DriftMethod",
    "DriftReport",
    "DriftThresholds",
    "Histogram",
    "LogicalType",
    "NumericStats",
    "Schema",
    "Severity",
    "StatResult",
    "TemporalStats",
    "ValidationOptions",
    "ValidationReport",
    "chi_square",
    "compute_drift",
    "infer_schema",
    "jensen_shannon",
    "ks_2samp",
    "psi",
    "validate",
]
