"""A project with principals in every role, shared by the access and control-plane tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lakestack.config import Project, load_project

PRINCIPALS: dict[str, dict[str, Any]] = {
    "alice": {"description": "platform admin", "roles": {"*": "admin"}},
    "dev1": {"roles": {"dev": "developer", "staging": "developer", "prod": "reader"}},
    "dep1": {"roles": {"dev": "developer", "staging": "deployer", "prod": "deployer"}},
    "mallory": {"roles": {"dev": "reader"}},
    "ci": {
        "kind": "service",
        "description": "GitHub Actions",
        "roles": {"dev": "developer", "staging": "deployer", "prod": "reader"},
    },
}


def write_access_project(root: Path, extra: dict[str, Any] | None = None) -> Project:
    """Write lakestack.yaml with the embedded environments and `PRINCIPALS`; load it."""
    root.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {"project": {"name": "accesstest"}, "access": {"principals": PRINCIPALS}}
    for key, value in (extra or {}).items():
        doc[key] = value
    (root / "lakestack.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_project(root)
