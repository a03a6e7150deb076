"""The columns every `inference.<endpoint>` table has: written by serving, read by monitoring.

A leaf module, so that both capabilities share the contract without importing each other.
"""

from __future__ import annotations

__all__ = ["INFERENCE_COLUMNS", "INFERENCE_RESERVED"]

INFERENCE_COLUMNS = (
    "record_id",
    "request_id",
    "row",
    "ts",
    "endpoint",
    "model",
    "model_version",
    "variant",
    "status",
    "latency_ms",
    "error",
    "prediction",
    "output",
)
"""The base columns, in order; a request's inputs follow as typed columns."""

INFERENCE_RESERVED = frozenset({*INFERENCE_COLUMNS, "inputs_json"})
"""Names an input column may not take (`inputs_json` holds inputs that do not fit a column)."""
