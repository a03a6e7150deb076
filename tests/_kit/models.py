"""Models for tests: a fitted scikit-learn model logged with the signature of its predictions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from lakestack.registry import ModelRegistry, ModelVersionInfo

__all__ = ["log_fitted"]


def log_fitted(
    registry: ModelRegistry,
    model: Any,
    name: str,
    x: pd.DataFrame,
    *,
    proba: bool = False,
    example: bool = True,
    **options: Any,
) -> ModelVersionInfo:
    """Log a fitted model as a new version of `name`, its signature inferred from `x` and
    `model.predict(x)` (`model.predict_proba(x)` with `proba`), `x.head(3)` as its input example
    unless `example` is false; `options` go to `log_model` (lineage, flavor_options, ...)."""
    from mlflow.models import infer_signature

    output = model.predict_proba(x) if proba else model.predict(x)
    if example:
        options["input_example"] = x.head(3)
    return registry.log_model(model, name, signature=infer_signature(x, output), **options)
