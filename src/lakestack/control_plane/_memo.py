"""Answers computed from tables, kept per version of those tables.

An endpoint's traffic or a monitor's dashboard is a function of a few tables; asking their
latest versions costs ~0.5 ms each (`Lake.version_key`), computing the answer anew reads them
whole. The answer is kept under the versions it was asked at: a table's versions only grow, so
a later request either finds the same versions (the same answer) or newer ones (computed anew).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from lakestack.lake import VersionKey

__all__ = ["by_versions"]

T = TypeVar("T")

_MOST = 64
_kept: OrderedDict[Hashable, object] = OrderedDict()
_lock = threading.Lock()


def by_versions(
    what: Hashable, versions: tuple[VersionKey | None, ...], compute: Callable[[], T]
) -> T:
    """`compute()`, or what it answered before for the same question and table versions.

    Args:
        what: the question (e.g. `("traffic", endpoint)`).
        versions: the version keys of the tables it reads (`Lake.version_key`), taken before
            `compute` reads them; when a table is missing (None) nothing is kept, since it may
            be created before `compute` reads it.
        compute: reads the tables (their latest versions: the keyed ones or newer) and
            answers; its answer is shared between requests and must not be changed.
    """
    if None in versions:
        return compute()
    key = (what, versions)
    with _lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]  # type: ignore[return-value]
    answer = compute()
    with _lock:
        _kept[key] = answer
        while len(_kept) > _MOST:
            _kept.popitem(last=False)
    return answer
