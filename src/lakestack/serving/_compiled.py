"""Batch scoring through a compiled LightGBM model.

lleaves compiles a LightGBM model's trees to machine code with LLVM; the compiled model
predicts what `Booster.predict` predicts (the same trees and output transform; sums of
leaf values may differ in their last bit, as any change of summation order does) several
times faster. Measured on this project's benchmark models (13 features, 31 leaves, 1M rows,
one thread): 50 rounds 1.88 -> 0.28 CPU s, 200 rounds 7.9 -> 1.28 CPU s. Compiling costs
0.9 and 5.9 CPU s on one core, while LightGBM's predict uses every core: a first run that
compiles is no slower than one that does not from about two million rows (by wall time; by
CPU from one million), and later runs pay nothing (benchmarks/batch_bench.py). The compiled library is kept in the project's `.lakestack/cache/compiled/`, named by
a hash of the model's text, the compiler's versions and this machine's CPU, so a model version
is compiled once per machine.

When it is used (`compiled` of `score_table`): None (the default) when the library is cached
or the run scores at least `COMPILE_ROWS` rows; True always; False never. Only single-output
LightGBM boosters (binary, regression) without pandas categories compile; other models score
through their own `predict`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lakestack.errors import ServingError

__all__ = ["COMPILE_ROWS", "compiled_predict"]

COMPILE_ROWS = 2_000_000
"""Rows from which a run compiles a model not compiled yet (compiling then costs less time
than it saves in the same run; see the module's docstring)."""


def compiled_predict(
    raw: Any, cache: Path, rows: int, compiled: bool | None
) -> Callable[[Any], Any] | None:
    """The compiled model's predict (a float64 matrix -> a vector), or None to score with
    the model's own `predict`.

    Args:
        raw: the loaded model (a `lightgbm.Booster` compiles).
        cache: the folder of compiled libraries.
        rows: the rows the run will score.
        compiled: None (when cached or from `COMPILE_ROWS` rows), True or False.

    Raises:
        ServingError: `compiled` is True and the model cannot be compiled (not a
            single-output LightGBM booster, lleaves not installed, or lleaves refused it).
    """
    if compiled is False:
        return None
    reason = _unsupported(raw)
    if reason is not None:
        if compiled:
            raise ServingError(f"cannot score compiled: {reason}; leave out --compiled")
        return None

    text = raw.model_to_string()
    library = cache / f"{_key(text)}.so"
    if not library.exists() and compiled is None and rows < COMPILE_ROWS:
        return None
    try:
        model = _compile(text, library)
    except Exception as exc:  # lleaves refuses objectives it does not know
        if compiled:
            raise ServingError(f"cannot score compiled: lleaves failed: {exc}") from exc
        return None
    return functools.partial(model.predict, n_jobs=1)


def _unsupported(raw: Any) -> str | None:
    """Why `raw` does not compile, or None."""
    import lightgbm as lgb

    if not isinstance(raw, lgb.Booster):
        return f"the model is a {type(raw).__name__}, not a LightGBM Booster"
    if raw.num_model_per_iteration() != 1:
        return "the booster has several outputs per row (multiclass)"
    if getattr(raw, "pandas_categorical", None):
        return "the booster has pandas categorical columns"
    try:
        import lleaves  # noqa: F401
    except ImportError:
        return "lleaves is not installed (pip install 'lakestack[compiled]')"
    return None


def _key(text: str) -> str:
    """The library's name: the model's text, the compiler's versions, this CPU."""
    from importlib.metadata import version

    import llvmlite.binding as llvm

    parts = [
        text,
        version("lleaves"),
        version("llvmlite"),
        llvm.get_host_cpu_name(),
        llvm.get_host_cpu_features().flatten(),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _compile(text: str, library: Path) -> Any:
    """The compiled lleaves model: loaded from `library`, or compiled and saved there (under
    a temporary name first, so that a concurrent run never loads a half-written file)."""
    import lleaves

    library.parent.mkdir(parents=True, exist_ok=True)
    partial = f".{uuid.uuid4().hex}.part"
    source = library.with_suffix(".txt" + partial)
    built = library.with_suffix(".so" + partial)
    source.write_text(text)
    try:
        model = lleaves.Model(model_file=str(source))
        if library.exists():
            model.compile(cache=str(library))
        else:
            model.compile(cache=str(built))
            os.replace(built, library)
    finally:
        source.unlink(missing_ok=True)
        built.unlink(missing_ok=True)
    return model
