"""Features: the model's inputs from the clean table's rows, and the encoding inside the model.

The model is a scikit-learn pipeline: `encoder()` turns the categorical columns into ordinal
codes (a category never seen in training becomes missing, which LightGBM handles), then
LightGBM. The encoding is part of the logged model, so the endpoint and batch scoring take
the same raw columns as training: numbers and strings, no preprocessing on the client.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from . import settings

FEATURES = [*settings.NUMERIC_FEATURES, *settings.CATEGORICAL_FEATURES]
"""The model's input columns, in order: numeric ones first, then categorical ones."""


def model_inputs(data: pl.DataFrame) -> Any:
    """The feature columns of clean rows as the model takes them (a pandas frame: numbers as
    float64, categories as strings with missing values as None)."""
    frame = data.select(
        *(pl.col(c).cast(pl.Float64) for c in settings.NUMERIC_FEATURES),
        *(pl.col(c).cast(pl.String) for c in settings.CATEGORICAL_FEATURES),
    ).to_pandas()
    for column in settings.CATEGORICAL_FEATURES:
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def encoder() -> Any:
    """The column encoding of the pipeline: categorical columns to ordinal codes (unknown and
    missing categories to NaN), numeric columns passed through, in `FEATURES` order."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OrdinalEncoder

    ordinal = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
        dtype=np.float64,
    )
    return ColumnTransformer(
        [
            ("numeric", "passthrough", settings.NUMERIC_FEATURES),
            ("categorical", ordinal, settings.CATEGORICAL_FEATURES),
        ],
        verbose_feature_names_out=False,
    )


def categorical_indices() -> list[int]:
    """Positions of the categorical columns in the encoded matrix (for LightGBM)."""
    first = len(settings.NUMERIC_FEATURES)
    return list(range(first, first + len(settings.CATEGORICAL_FEATURES)))
