"""`deploy.<environment>` of `lakestack.yaml`: which code versions an environment accepts.

`lakestack deploy --env E` records a git commit as E's deployed code. These rules say which
commits E takes: `refs` the commit must be on (branch names or tag patterns), and whether a
work tree with uncommitted changes is refused (`clean`, the default).
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from lakestack.config._base import Strict

__all__ = ["DeployTargetConfig"]

_REF = re.compile(r"^[A-Za-z0-9._/*?\[\]-]+$")


class DeployTargetConfig(Strict):
    """`deploy.<environment>`: what `lakestack deploy --env <environment>` accepts.

    Example (the generated projects' rules)::

        deploy:
          staging: {refs: [main]}
          prod: {refs: ["v*", release]}
    """

    refs: list[str] = Field(
        default_factory=list,
        description="Branches or tags (glob patterns, e.g. `main`, `release`, `v*`) one of "
        "which must contain the deployed commit; empty: any commit.",
    )
    clean: bool = Field(
        default=True,
        description="Refuse to deploy from a work tree with uncommitted changes to tracked "
        "files (they would not be part of the deployed commit).",
    )

    @field_validator("refs")
    @classmethod
    def _refs(cls, value: list[str]) -> list[str]:
        for ref in value:
            if not _REF.match(ref) or ref.startswith("-"):
                raise ValueError(
                    f"ref {ref!r} is not a branch name or tag pattern: write e.g. main, "
                    "release or 'v*'"
                )
        return value
