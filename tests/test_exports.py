"""Every package's public API: `__all__` is sorted and is exactly what the package exports, and
importing a package stays light (heavy libraries are imported where they are used)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import types

import pytest

import lakestack

PACKAGES = sorted(
    name
    for _, name, is_pkg in pkgutil.iter_modules(lakestack.__path__, "lakestack.")
    if is_pkg and not name.endswith(".templates")
)
HEAVY = ("lightgbm", "mlflow", "pandas", "ray", "scipy", "sklearn")
NOT_ON_IMPORT = {"lakestack.validation": ("pyarrow",)}  # Polars-only callers never load it


def _order(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: constants, then classes, then functions."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=_order)
    for symbol in exported:
        assert hasattr(module, symbol), f"{name}.__all__ names {symbol}, which it does not define"
    public = {
        symbol
        for symbol, value in vars(module).items()
        if not symbol.startswith("_")
        and not isinstance(value, types.ModuleType)
        and symbol not in ("annotations", "TYPE_CHECKING")
    }
    assert public == set(exported), (
        f"{name} exports {sorted(public ^ set(exported))} inconsistently"
    )


@pytest.mark.parametrize("name", [*PACKAGES, "lakestack.system_tables"])
def test_importing_it_loads_no_heavy_library(name: str) -> None:
    banned = (*HEAVY, *NOT_ON_IMPORT.get(name, ()))
    code = f"import sys, {name}; print(' '.join(m for m in {banned!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [], f"importing {name} loads {done.stdout.strip()}"


def test_errors_share_one_base() -> None:
    from lakestack import errors

    for symbol in errors.__all__:
        assert issubclass(getattr(errors, symbol), errors.LakestackError)
