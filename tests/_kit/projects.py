"""Project builders: a folder with `lakestack.yaml` and what its tests need beside it."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from lakestack.config import Project, load_project

__all__ = ["local_environment", "write_project"]


def local_environment(name: str, **overrides: Any) -> dict[str, Any]:
    """One environment kept in the project folder: a Delta lake, SQLite tracking and store."""
    return {
        "lake": f".lakestack/{name}/lake",
        "tracking": f"sqlite:///.lakestack/{name}/mlflow.db",
        "online_store": f"sqlite:///.lakestack/{name}/online.db",
        **overrides,
    }


def write_project(
    root: Path,
    *,
    name: str = "testproj",
    environments: Sequence[str] | Mapping[str, Mapping[str, Any]] | None = None,
    mlflow_db: Path | None = None,
    files: Sequence[Path] = (),
    **sections: Any,
) -> Project:
    """Write `root/lakestack.yaml` (again, when it exists) and load the project.

    Args:
        root: the project folder (created).
        name: `project.name`.
        environments: None for the embedded defaults; names of environments kept in the folder
            (`local_environment`); or a mapping of names to overrides of those settings
            (`{"dev": {"tracking": pg_uri}, "prod": {}}`).
        mlflow_db: a migrated MLflow SQLite database (the `mlflow_db` fixture), copied to each
            environment whose tracking is SQLite in the folder, unless a copy is there already.
        files: files copied beside `lakestack.yaml` (task modules a job's tasks name).
        **sections: more top-level sections: `jobs=`, `models=`, `endpoints=`, `monitors=`.
    """
    root.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy(path, root / path.name)
    doc: dict[str, Any] = {"project": {"name": name}}
    if environments is not None:
        overrides = (
            environments if isinstance(environments, Mapping) else {env: {} for env in environments}
        )
        doc["environments"] = {env: local_environment(env, **o) for env, o in overrides.items()}
        for env, settings in doc["environments"].items():
            (root / ".lakestack" / env).mkdir(parents=True, exist_ok=True)
            copy = root / ".lakestack" / env / "mlflow.db"
            local = settings["tracking"] == f"sqlite:///.lakestack/{env}/mlflow.db"
            if mlflow_db is not None and local and not copy.exists():
                shutil.copy(mlflow_db, copy)
    doc.update({key: value for key, value in sections.items() if value is not None})
    (root / "lakestack.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_project(root)
