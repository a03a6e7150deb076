"""Checks of a project against its environment: what `lakestack validate --deep` adds.

`lakestack validate` checks what the project file alone can tell. The deep checks open the
environment's lake and registry and check that the names the file gives exist there: the
tables and columns of each monitor, the models and aliases of each endpoint, the baseline of
each monitor, the label column of each model.

Example:
    >>> from lakestack.checks import deep_problems
    >>> for problem in deep_problems(load_project("."), "prod"):  # doctest: +SKIP
    ...     print(problem)
"""

from __future__ import annotations

from lakestack.checks._deep import deep_problems

__all__ = ["deep_problems"]
