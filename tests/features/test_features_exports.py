"""The public API of lakestack.features is what `__all__` says, sorted."""

from __future__ import annotations

import lakestack.features as features


def test_all_is_sorted_and_exported() -> None:
    assert features.__all__ == sorted(features.__all__)
    for name in features.__all__:
        assert hasattr(features, name), name
    public = {n for n in vars(features) if not n.startswith("_")} - {"annotations"}
    assert public == set(features.__all__)
