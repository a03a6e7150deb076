"""MLflow flavors: which one a model is, its pinned requirements, and the save options that let
any model log with no extra arguments.

- scikit-learn-style models are saved with skops under MLflow 3, which refuses types it does not
  know (a `HistGradientBoosting*`'s tree predictor, a LightGBM estimator in a `Pipeline`). The
  model being logged is the caller's own object, so the types it holds are trusted: they are
  listed with `skops_trusted_types`, which MLflow records for loading.
- a classifier of the scikit-learn API whose signature's outputs are its class probabilities
  (one float column per class, as `infer_signature(X, model.predict_proba(X))` makes) serves
  them (the `sklearn` flavor with `pyfunc_predict_fn: predict_proba`, also for
  `LGBMClassifier`): gates and monitors need them for ROC AUC and log loss. With a signature
  of classes it serves classes, and metrics of probabilities are refused.

Every option can still be set with `flavor_options` (any argument of the flavor's `save_model`).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from typing import Any

from lakestack.errors import RegistryError

__all__ = ["default_requirements", "detect_flavor", "save_options"]

# Model classes' top-level package -> MLflow flavor module name.
_FLAVORS = {
    "lightgbm": "lightgbm",
    "sklearn": "sklearn",
    "xgboost": "xgboost",
    "catboost": "catboost",
    "torch": "pytorch",
    "keras": "keras",
    "tensorflow": "tensorflow",
    "statsmodels": "statsmodels",
    "prophet": "prophet",
    "mlflow": "pyfunc",
}
# Flavors whose scikit-learn-style models MLflow serialises with skops by default.
_SKOPS_FLAVORS = frozenset({"sklearn", "lightgbm", "xgboost"})


def detect_flavor(model: Any, signature: Any = None) -> str:
    """The MLflow flavor for a model object, from the package that defines its class.

    A classifier of the scikit-learn API from another package (`LGBMClassifier`,
    `XGBClassifier`) whose signature's outputs are its class probabilities gets the `sklearn`
    flavor, the one that can serve `predict_proba`.
    """
    import mlflow.pyfunc

    if isinstance(model, mlflow.pyfunc.PythonModel):
        return "pyfunc"
    if hasattr(model, "predict_proba") and _probability_outputs(signature, model):
        return "sklearn"
    for klass in type(model).__mro__:
        package = klass.__module__.split(".")[0]
        if package in _FLAVORS:
            return _FLAVORS[package]
    raise RegistryError(
        f"cannot tell the MLflow flavor of a {type(model).__module__}.{type(model).__name__}; "
        "pass flavor='sklearn' (or lightgbm, xgboost, pytorch, pyfunc, ...)"
    )


def _pinned(package: str) -> str | None:
    try:
        return f"{package}=={importlib.metadata.version(package)}"
    except importlib.metadata.PackageNotFoundError:
        return None


def default_requirements(flavor: str, module: Any) -> list[str]:
    """The flavor's default requirements, pinned to the installed versions, without inference.

    MLflow infers requirements by importing the model in a subprocess, which takes seconds;
    the flavor's defaults are what that inference finds for plain models.
    """
    found = getattr(module, "get_default_pip_requirements", None)
    requirements = list(found()) if callable(found) else []
    if flavor in _SKOPS_FLAVORS:
        requirements += [r for r in (_pinned("skops"),) if r]
    if flavor == "pyfunc":
        requirements += [r for r in (_pinned("cloudpickle"),) if r]
    return requirements


def _uses_skops(flavor: str, model: Any, options: Mapping[str, Any]) -> bool:
    if flavor not in _SKOPS_FLAVORS or options.get("serialization_format", "skops") != "skops":
        return False
    # LightGBM and XGBoost boosters are saved in their own format; only estimators use skops
    return flavor == "sklearn" or type(model).__name__ not in ("Booster",)


def _trusted_types(model: Any) -> list[str]:
    """The types skops would refuse to load from this model's own serialisation."""
    import skops.io

    try:
        return list(skops.io.get_untrusted_types(data=skops.io.dumps(model)))
    except Exception as exc:
        raise RegistryError(
            f"the model cannot be saved with skops ({type(exc).__name__}: {exc}); pass "
            "flavor_options={'serialization_format': 'cloudpickle'} (cloudpickle runs code "
            "when loading: only for models you trust)"
        ) from exc


def _probability_outputs(signature: Any, model: Any) -> bool:
    """Whether the signature's outputs are one float per class of `model`."""
    import numpy as np

    outputs = getattr(signature, "outputs", None)
    classes = getattr(model, "classes_", None)
    if outputs is None or classes is None:
        return False
    specs = list(outputs.inputs)
    if outputs.is_tensor_spec():
        shape = tuple(specs[0].shape)
        return len(shape) == 2 and shape[1] == len(classes) and specs[0].type.kind == "f"
    kinds = [np.dtype(s.type.to_numpy()).kind for s in specs]
    return len(specs) == len(classes) and all(k == "f" for k in kinds)


def save_options(
    flavor: str,
    model: Any,
    *,
    classifier: bool,
    options: Mapping[str, Any],
    signature: Any,
) -> dict[str, Any]:
    """The flavor's `save_model` options: lakestack's defaults under the caller's `options`.

    Args:
        flavor: the MLflow flavor.
        model: the model object.
        classifier: the model is a binary or multiclass classifier.
        options: `flavor_options` given to `log_model` (they win).
        signature: the model's signature: outputs of class probabilities serve `predict_proba`.
    """
    found: dict[str, Any] = {}
    if _uses_skops(flavor, model, options):
        given = list(options.get("skops_trusted_types") or [])
        found["skops_trusted_types"] = sorted({*given, *_trusted_types(model)})
    if (
        flavor == "sklearn"
        and classifier
        and "pyfunc_predict_fn" not in options
        and hasattr(model, "predict_proba")
        and _probability_outputs(signature, model)
    ):
        found["pyfunc_predict_fn"] = "predict_proba"
    return {**options, **found}
