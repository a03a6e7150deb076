"""`lakestack.validation.__all__` is exactly its public API, sorted."""

from __future__ import annotations

import subprocess
import sys
import types

import lakestack.validation as validation


def test_all_lists_every_public_name() -> None:
    public = {
        name
        for name, value in vars(validation).items()
        if not name.startswith("_")
        and name != "annotations"  # from `from __future__ import annotations`
        and not isinstance(value, types.ModuleType)
    }
    assert set(validation.__all__) == public


def test_all_is_sorted() -> None:
    # Ruff's RUF022 order: constants, then classes, then functions.
    def key(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert validation.__all__ == sorted(validation.__all__, key=key)


def test_import_is_light() -> None:
    # pyarrow and scipy are imported where used: a Polars-only caller never loads them.
    code = (
        "import sys, lakestack.validation; "
        "print(sorted(m for m in ('pyarrow', 'scipy', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
