"""Rendering the files `lakestack init` writes: Jinja templates with delimiters that leave
YAML, shell and GitHub expressions alone.

Templates write `{@ value @}` for a value and `{% ... %}` for logic, so that GitHub's
`${{ secrets.X }}`, the shell's `$VAR` and lakestack.yaml's `${VAR:-default}` pass through
untouched. `StrictUndefined` makes a value missing from the context an error, not an empty
string.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakestack.errors import DeployError

if TYPE_CHECKING:
    import jinja2

__all__ = ["render", "write_text"]


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        variable_start_string="{@",
        variable_end_string="@}",
        block_start_string="{%",
        block_end_string="%}",
        comment_start_string="{#@",
        comment_end_string="@#}",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )


def render(template: Path, context: dict[str, Any]) -> str:
    """The text of a template file rendered with `context`."""
    return _environment().from_string(template.read_text(encoding="utf-8")).render(**context)


def write_text(path: Path, text: str, *, force: bool) -> Path:
    """Write a file (its folders made), refusing to replace an existing one without `force`.

    Raises:
        DeployError: the file exists and `force` is not set.
    """
    if path.exists() and not force:
        raise DeployError(f"{path} already exists; pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
