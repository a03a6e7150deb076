"""A loaded model ready to score requests, with a NumPy fast path where the flavor allows.

MLflow's pyfunc builds a pandas DataFrame and enforces the signature per call (about 2 ms);
LightGBM and scikit-learn score a NumPy array in signature column order in tens of
microseconds. The fast path calls the same method the pyfunc would (`predict`, or the
`pyfunc_predict_fn` a scikit-learn model was logged with), so answers are the same.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lakestack.serving._schema import InputSchema

if TYPE_CHECKING:
    from collections.abc import Callable

    from lakestack.registry import LoadedModel

__all__ = ["ServedModel", "jsonable"]

_FAST_FLAVORS = ("lightgbm", "sklearn")


@dataclass
class ServedModel:
    """A model version an endpoint serves.

    Attributes:
        loaded: the registry's loaded model.
        schema: its input columns (None: the signature names none; pyfunc only).
        fast: the NumPy predict function, when the flavor has one.
    """

    loaded: LoadedModel
    schema: InputSchema | None
    fast: Callable[[Any], Any] | None

    @property
    def name(self) -> str:
        return self.loaded.name or self.loaded.uri

    @property
    def version(self) -> int | None:
        return self.loaded.version

    @classmethod
    def wrap(cls, loaded: LoadedModel, *, fast_path: bool = True) -> ServedModel:
        """Inspect a loaded model: its input schema and whether it can take NumPy input."""
        schema = InputSchema.from_signature(loaded.signature)
        fast = (
            _fast_predict(loaded) if fast_path and schema is not None and schema.numeric else None
        )
        return cls(loaded, schema, fast)

    def predict(self, columns: list[str] | None, rows: list[list[Any]], params: Any = None) -> Any:
        """Score checked rows (in schema order when the model has a schema)."""
        if self.fast is not None and not params:
            matrix = np.array(rows, dtype=np.float64)
            # None (an allowed missing value) became nan in the float conversion
            return self.fast(matrix)
        return self.loaded.predict(self._frame(columns, rows), params=params or None)

    def _frame(self, columns: list[str] | None, rows: list[list[Any]]) -> Any:
        import pandas as pd

        if self.schema is None:
            return pd.DataFrame(rows, columns=columns)
        frame = pd.DataFrame(rows, columns=self.schema.names)
        dtypes = {"float64": "float64", "float32": "float32", "int64": "int64", "int32": "int32"}
        for column in self.schema.columns:
            dtype = dtypes.get(column.arrow)
            if dtype is not None and not frame[column.name].isna().any():
                frame[column.name] = frame[column.name].astype(dtype)
        return frame


def _fast_predict(loaded: LoadedModel) -> Callable[[Any], Any] | None:
    flavors = _flavors(loaded)
    if not any(f in flavors for f in _FAST_FLAVORS):
        return None
    try:
        raw = loaded.raw
    except Exception:
        return None
    if "sklearn" in flavors:
        name = flavors.get("python_function", {}).get("predict_fn") or "predict"
        method = getattr(raw, str(name), None)
        if method is None:
            return None
        # Fitted on a DataFrame, scikit-learn warns on every NumPy call; the columns are in
        # signature order, which is the fit order, so the warning says nothing here.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return method  # type: ignore[no-any-return]
    if "lightgbm" in flavors:
        if getattr(raw, "pandas_categorical", None):
            return None  # categorical columns need the DataFrame's categories
        method = getattr(raw, "predict", None)
        if method is None:
            return None
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        # one thread: OpenMP's thread team costs more than a request's few rows, and on a
        # busy machine its barriers multiply the latency
        return functools.partial(method, num_threads=1)
    return None


def _flavors(loaded: LoadedModel) -> dict[str, Any]:
    import yaml

    try:
        doc = yaml.safe_load((loaded.path / "MLmodel").read_text(encoding="utf-8"))
    except OSError:
        return {}
    flavors = doc.get("flavors") if isinstance(doc, dict) else None
    return dict(flavors) if isinstance(flavors, dict) else {}


def jsonable(output: Any) -> list[Any]:
    """Predictions as JSON values, as MLflow's scoring server writes them."""
    if hasattr(output, "to_dict") and hasattr(output, "columns"):  # a pandas DataFrame
        return list(output.to_dict(orient="records"))
    if hasattr(output, "to_numpy"):  # a pandas Series
        output = output.to_numpy()
    if isinstance(output, np.ndarray):
        return list(output.tolist())
    if isinstance(output, list):
        return output
    return list(np.asarray(output).tolist())
