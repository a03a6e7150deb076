"""Projects with principals in every role, for the access and control-plane tests.

- `write_access_project`: dev, staging and prod kept in the folder, `PRINCIPALS` declared.
- `log_tiny_model`: a small scikit-learn classifier logged as a new version.
- `control_plane_process`: `lakestack server` of a project in a subprocess, up on `/health`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from _kit.projects import write_project
from lakestack.config import Project
from lakestack.serving import ServerProcess

__all__ = [
    "ENVIRONMENTS",
    "PRINCIPALS",
    "control_plane_process",
    "log_tiny_model",
    "write_access_project",
]

ENVIRONMENTS = ("dev", "staging", "prod")

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


def write_access_project(
    root: Path,
    *,
    mlflow_db: Path | None = None,
    environments: Mapping[str, Mapping[str, Any]] | None = None,
    **sections: Any,
) -> Project:
    """dev, staging and prod in the folder (with `environments` overrides), and `PRINCIPALS`."""
    envs = {name: dict((environments or {}).get(name, {})) for name in ENVIRONMENTS}
    return write_project(
        root,
        name="accesstest",
        environments=envs,
        mlflow_db=mlflow_db,
        access={"principals": PRINCIPALS},
        **sections,
    )


def log_tiny_model(project: Project, env: str, name: str) -> int:
    """Log a small scikit-learn classifier as a new version of `name`; its number."""
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    from lakestack.registry import ModelRegistry

    rng = np.random.default_rng(0)
    x = pd.DataFrame({"x1": rng.normal(size=80), "x2": rng.normal(size=80)})
    y = (x["x1"] > 0).astype("int64")
    model = LogisticRegression().fit(x, y)
    info = ModelRegistry(project, env).log_model(
        model,
        name,
        signature=infer_signature(x, model.predict(x)),
        input_example=x.head(3),
    )
    return info.version


def control_plane_process(project: Project, port: int, environments: list[str]) -> ServerProcess:
    """`lakestack server` of the project governing `environments`, with no LAKESTACK_* of ours."""
    envs = [arg for env in environments for arg in ("--env", env)]
    command = [sys.executable, "-m", "lakestack", "server", "-p", str(project.root), *envs]
    command += ["--port", str(port), "--log-level", "warning"]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LAKESTACK_")}
    log = project.root / f"server-{port}.log"
    return ServerProcess(
        command, port, log, ready_path="/health", env=environ, name="`lakestack server`"
    )
