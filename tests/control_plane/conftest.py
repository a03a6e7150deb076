"""A running control-plane server over a project with principals, models and jobs."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "access"))

from access_kit import (
    ControlPlaneProcess,
    free_port,
    log_tiny_model,
    seed_registries,
    write_access_project,
)
from plane_kit import Plane

from lakestack.access import AUTHORITY_VARIABLE, acting_as, create_token, role_of
from lakestack.config import default_environments

ENVS = ("dev", "staging", "prod")
JOBS = {"ingest": {"tasks": [{"name": "load", "run": "cp_tasks:load"}]}}
TASKS = """
def load(ctx):
    ctx.lake.append("bronze.events", {"id": [1, 2, 3]})
    return 3
"""


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(scope="module")
def plane(
    tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path, child_bytecode_cache: None
) -> Iterator[Plane]:
    """One server for the module: prod names it as its control plane; tokens for everyone."""
    root = tmp_path_factory.mktemp("plane") / "proj"
    port = free_port()
    seed_registries(root, mlflow_template)
    (root / "cp_tasks.py").write_text(TASKS)
    envs = {name: env.model_dump() for name, env in default_environments().items()}
    envs["prod"]["control_plane"] = f"http://127.0.0.1:{port}"
    project = write_access_project(root, {"environments": envs, "jobs": JOBS})
    mp = pytest.MonkeyPatch()
    for key in [k for k in os.environ if k.startswith("LAKESTACK_")]:
        mp.delenv(key)
    # On the server's host, with its storage: bootstrap tokens and a model version in prod.
    mp.setenv(AUTHORITY_VARIABLE, ",".join(ENVS))
    tokens: dict[tuple[str, str], str] = {}
    with acting_as("alice"):
        for principal in ("alice", "dev1", "dep1", "mallory", "ci"):
            for env in ENVS:
                if role_of(project, principal, env) is not None:
                    tokens[principal, env] = create_token(project, principal, [env]).token
    with acting_as("dep1"):
        version = log_tiny_model(project, "prod", "delay")
        log_tiny_model(project, "staging", "delay")
    mp.delenv(AUTHORITY_VARIABLE)
    server = ControlPlaneProcess(root, port, list(ENVS)).start()
    try:
        yield Plane(server, project, tokens, "delay", version)
    finally:
        server.stop()
        mp.undo()
