"""A loaded model ready to score requests, with a NumPy fast path where the flavor allows.

MLflow's pyfunc builds a pandas DataFrame and enforces the signature per call (about 2 ms);
LightGBM and scikit-learn score a NumPy array in signature column order in tens of
microseconds. The fast path calls the same method the pyfunc would (`predict`, or the
`pyfunc_predict_fn` a scikit-learn model was logged with), so answers are the same.
"""

from __future__ import annotations

import functools
import threading
import warnings
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lakestack.serving._schema import InputSchema

if TYPE_CHECKING:
    from collections.abc import Callable

    from lakestack.registry import LoadedModel

__all__ = ["ServedModel", "jsonable", "limit_threads"]

_FAST_FLAVORS = ("lightgbm", "sklearn")
_threads: int | None = None  # the numeric libraries' threads per scoring thread (None: as is)
_pinned = threading.local()


def limit_threads(threads: int | None) -> None:
    """Score with at most `threads` threads in the numeric libraries' pools (OpenMP, BLAS);
    None leaves them as they are. Process-wide: for a serving process.

    OpenMP's limit belongs to the thread that sets it, so each thread that scores sets it
    once, before its first prediction (the event loop's, and each worker thread's).
    """
    global _threads
    _threads = threads


def _pin() -> None:
    if getattr(_pinned, "threads", None) != _threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(_threads)
        _pinned.threads = _threads


@dataclass
class ServedModel:
    """A model version an endpoint serves.

    Attributes:
        loaded: the registry's loaded model.
        schema: its input columns (None: the signature names none; pyfunc only).
        fast: the NumPy predict function, when the flavor has one.
        row: a one-row predict function set up once (a LightGBM booster's single-row API).
        direct: the model's own predict function on a pandas DataFrame (a scikit-learn
            model whose inputs are not all numbers: a Pipeline encoding strings, say),
            called without the pyfunc's per-call schema enforcement, which the endpoint's
            checks have done already.
    """

    loaded: LoadedModel
    schema: InputSchema | None
    fast: Callable[[Any], Any] | None
    row: _BoosterRow | None = None
    direct: Callable[[Any], Any] | None = None

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
        if fast is None:
            direct = _sklearn_predict(loaded) if fast_path and schema is not None else None
            return cls(loaded, schema, None, direct=direct)
        assert schema is not None
        return cls(loaded, schema.on_numpy(), fast, _BoosterRow.of(loaded))

    def predict(self, columns: list[str] | None, rows: list[list[Any]], params: Any = None) -> Any:
        """Score checked rows (in schema order when the model has a schema)."""
        if _threads is not None:
            _pin()
        if self.fast is not None and not params:
            row = self.row
            if row is not None and len(rows) == 1 and len(rows[0]) == row.width:
                try:
                    return row.score(rows[0])
                except TypeError:  # a None (an allowed missing value): NaN through NumPy
                    pass
            matrix = np.array(rows, dtype=np.float64)
            # None (an allowed missing value) became nan in the float conversion
            if row is not None and matrix.shape == (1, row.width):
                return row(matrix)
            return self.fast(matrix)
        if self.direct is not None and not params:
            return self.direct(self._typed_frame(rows))
        return self.loaded.predict(self._frame(columns, rows), params=params or None)

    def _typed_frame(self, rows: list[list[Any]]) -> Any:
        """Checked rows as a DataFrame of one NumPy array per column, of its type's dtype
        (a tenth of the cost of building pandas Series); `_frame` where a column has no such
        dtype (binary, times, a null in an integer or boolean column)."""
        import pandas as pd

        assert self.schema is not None
        values = list(zip(*rows, strict=True)) if rows else [() for _ in self.schema.columns]
        columns = {}
        for column, column_values in zip(self.schema.columns, values, strict=True):
            dtype = _DTYPES.get(column.type.name)
            if dtype is None or (dtype is not object and None in column_values and dtype != "f"):
                return self._frame(self.schema.names, rows)
            kind = np.float64 if dtype == "f" else dtype
            columns[column.name] = np.array(column_values, dtype=kind)
        return pd.DataFrame(columns, copy=False)

    def _frame(self, columns: list[str] | None, rows: list[list[Any]]) -> Any:
        """Checked rows as the pandas DataFrame MLflow's pyfunc expects: each column of the
        dtype of its MLflow type (bytes for binary, datetime64 for datetime)."""
        import pandas as pd

        if self.schema is None:
            return pd.DataFrame(rows, columns=columns)
        values = list(zip(*rows, strict=True)) if rows else [() for _ in self.schema.columns]
        return pd.DataFrame(
            {
                c.name: c.type.model_column(list(v))
                for c, v in zip(self.schema.columns, values, strict=True)
            }
        )


# A column's NumPy dtype in `_typed_frame`: "f" is float64, where None becomes NaN
_DTYPES: dict[str, Any] = {
    "double": "f",
    "float": np.float32,
    "long": np.int64,
    "integer": np.int32,
    "boolean": np.bool_,
    "string": object,
}


def _sklearn_predict(loaded: LoadedModel) -> Callable[[Any], Any] | None:
    """The predict method the sklearn flavor's pyfunc calls (its `predict_fn`), else None."""
    flavors = _flavors(loaded)
    if "sklearn" not in flavors:
        return None
    try:
        raw = loaded.raw
    except Exception:
        return None
    name = flavors.get("python_function", {}).get("predict_fn") or "predict"
    method = getattr(raw, str(name), None)
    return method if callable(method) else None


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


class _BoosterRow:
    """One row through LightGBM's single-row C API, its predictor set up once.

    `Booster.predict` builds a predictor and a parameter string on every call, about 100 us of
    Python for one row; `LGBM_BoosterPredictForMatSingleRowFast` with a configuration made
    at load scores the row in a few microseconds, with the same trees, iterations and output
    transform (`predict_type` normal), so the answer is the same number.
    """

    def __init__(self, booster: Any) -> None:
        import ctypes

        from lightgbm import basic

        lib = basic._LIB  # type: ignore[attr-defined]
        # The same library through `PyDLL`: its calls keep the GIL. A call takes microseconds;
        # releasing the GIL for it hands the GIL to another thread (the inference log's
        # writer), and taking it back can wait out the interpreter's switch interval (5 ms).
        self._lib = ctypes.PyDLL(lib._name, handle=lib._handle)
        self._check = basic._safe_call
        self.width = int(booster.num_feature())
        config = ctypes.c_void_p()
        self._check(
            self._lib.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(0),  # C_API_PREDICT_NORMAL
                ctypes.c_int(0),  # start_iteration
                ctypes.c_int(booster.best_iteration),  # as predict(num_iteration=None)
                ctypes.c_int(1),  # C_API_DTYPE_FLOAT64
                ctypes.c_int32(self.width),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(config),
            )
        )
        self._config = config
        self._booster = booster  # the configuration points into it
        self._length = ctypes.c_int64()
        self._values = ctypes.c_double * self.width
        self._out = ctypes.c_double()
        self._double_p = ctypes.POINTER(ctypes.c_double)
        self._void_p = ctypes.c_void_p
        self._byref = ctypes.byref
        # the configuration's buffers are shared: one call at a time (the event loop and
        # the thread pool may both score)
        self._lock = threading.Lock()
        # score's arguments, made once: a row buffer and the pointers to the outputs
        self._row = self._values()
        self._length_p = ctypes.byref(self._length)
        self._out_p = ctypes.byref(self._out)
        self._score_row = self._lib.LGBM_BoosterPredictForMatSingleRowFast
        weakref.finalize(self, self._lib.LGBM_FastConfigFree, config)

    @classmethod
    def of(cls, loaded: LoadedModel) -> _BoosterRow | None:
        """The single-row path of a LightGBM booster with one output per row, else None."""
        if "lightgbm" not in _flavors(loaded):
            return None
        try:
            import lightgbm as lgb

            raw = loaded.raw
            if not isinstance(raw, lgb.Booster) or raw.num_model_per_iteration() != 1:
                return None
            lib = lgb.basic._LIB  # type: ignore[attr-defined]
            if not hasattr(lib, "LGBM_BoosterPredictForMatSingleRowFastInit"):
                return None
            return cls(raw)
        except Exception:
            return None

    def score(self, values: list[Any]) -> list[float]:
        """Score one row of `width` numbers; its prediction in a list.

        Raises:
            TypeError: a value that is not a number (None, say).
        """
        with self._lock:
            self._row[:] = values  # a None raises TypeError before LightGBM is called
            self._check(self._score_row(self._config, self._row, self._length_p, self._out_p))
            return [self._out.value]

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        """Score a (1, width) C-ordered float64 matrix; a (1,) array, as `Booster.predict`."""
        out = np.empty(1, dtype=np.float64)
        with self._lock:
            self._check(
                self._lib.LGBM_BoosterPredictForMatSingleRowFast(
                    self._config,
                    matrix.ctypes.data_as(self._void_p),
                    self._byref(self._length),
                    out.ctypes.data_as(self._double_p),
                )
            )
        return out


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
