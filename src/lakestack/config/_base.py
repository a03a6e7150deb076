"""What every section of the `lakestack.yaml` model shares: strictness and names."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

__all__ = ["Strict", "check_name"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class Strict(BaseModel):
    """A section that forbids unknown keys (a typo is an error naming the key) and is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_name(value: str, what: str) -> str:
    """`value` if it is a valid name (letters, digits, `_`, `-`; not starting with a digit)."""
    if not _NAME.match(value):
        raise ValueError(
            f"{what} {value!r} is not a valid name: use letters, digits, '_' and '-', "
            "starting with a letter or '_'"
        )
    return value
