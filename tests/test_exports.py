"""Each package's `__all__` is sorted and is exactly what the package exports."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import lakestack

PACKAGES = sorted(
    name
    for _, name, is_pkg in pkgutil.iter_modules(lakestack.__path__, "lakestack.")
    if is_pkg and not name.endswith(".templates")
)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), n)) or exported == sorted(
        exported
    )
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


def test_errors_share_one_base() -> None:
    from lakestack import errors

    for symbol in errors.__all__:
        assert issubclass(getattr(errors, symbol), errors.LakestackError)
