"""What this project predicts, from which columns: `lakestack init` writes this file from the
data it inspected. Edit it freely: the rest of the package reads these names."""

from __future__ import annotations

from typing import Literal

MODEL = "churn"
"""The registered model (and its endpoint and monitor)."""
PROBLEM: Literal["binary", "multiclass", "regression"] = "binary"
LABEL = "churned"
TIME_COLUMN: str | None = "signup_ts"
"""Orders the rows: the holdout is the latest part; None splits at random."""
ID_COLUMNS: list[str] = ["customer_id"]
"""Identify a row: the key late labels join on (empty: no labels for the monitor)."""
NUMERIC_FEATURES: list[str] = ["tenure_months", "monthly_charges", "support_calls"]
CATEGORICAL_FEATURES: list[str] = ["plan", "region"]
SOURCE_COLUMNS: dict[str, str] = {
    "customer_id": "string",
    "signup_ts": "timestamp",
    "tenure_months": "float64",
    "monthly_charges": "float64",
    "support_calls": "float64",
    "plan": "string",
    "region": "string",
    "churned": "bool",
}
"""Every column kept from the source, with the type ingest gives it."""

RAW_TABLE = "bronze.churn"
CLEAN_TABLE = "silver.churn"
LABELS_TABLE = "labels.churn"
TRAINING_TABLE = "gold.churn_training"
PREDICTIONS_TABLE = "gold.churn_predictions"
