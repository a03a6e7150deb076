"""A running control-plane server over a project with principals, models and jobs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _kit import free_port
from _kit.access import (
    ENVIRONMENTS,
    control_plane_process,
    log_tiny_model,
    write_access_project,
)
from lakestack.access import AUTHORITY_VARIABLE, acting_as, create_token, role_of
from lakestack.config import Project
from lakestack.serving import ServerProcess

JOBS = {"ingest": {"tasks": [{"name": "load", "run": "cp_tasks:load"}]}}
TASKS = """
def load(ctx):
    ctx.lake.append("bronze.events", {"id": [1, 2, 3]})
    return 3
"""


@dataclass
class Plane:
    """The server, its project, and a token per (principal, environment)."""

    server: ServerProcess
    project: Project
    tokens: dict[tuple[str, str], str]
    model: str
    version: int

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, env: str, path: str) -> str:
        """The URL of a route of an environment."""
        return f"{self.url}/api/v1/envs/{env}{path}"

    def headers(self, principal: str, env: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[principal, env]}"}


@pytest.fixture(scope="module")
def plane(
    tmp_path_factory: pytest.TempPathFactory, mlflow_db: Path, child_bytecode_cache: None
) -> Iterator[Plane]:
    """One server for the module: prod names it as its control plane; tokens for everyone."""
    root = tmp_path_factory.mktemp("plane") / "proj"
    root.mkdir(parents=True)
    (root / "cp_tasks.py").write_text(TASKS)
    port = free_port()
    prod = {"control_plane": f"http://127.0.0.1:{port}"}
    project = write_access_project(
        root, mlflow_db=mlflow_db, environments={"prod": prod}, jobs=JOBS
    )
    mp = pytest.MonkeyPatch()
    for key in [k for k in os.environ if k.startswith("LAKESTACK_")]:
        mp.delenv(key)
    # On the server's host, with its storage: bootstrap tokens and a model version in prod.
    mp.setenv(AUTHORITY_VARIABLE, ",".join(ENVIRONMENTS))
    tokens: dict[tuple[str, str], str] = {}
    with acting_as("alice"):
        for principal in ("alice", "dev1", "dep1", "mallory", "ci"):
            for env in ENVIRONMENTS:
                if role_of(project, principal, env) is not None:
                    tokens[principal, env] = create_token(project, principal, [env]).token
    with acting_as("dep1"):
        version = log_tiny_model(project, "prod", "delay")
        log_tiny_model(project, "staging", "delay")
    mp.delenv(AUTHORITY_VARIABLE)
    server = control_plane_process(project, port, list(ENVIRONMENTS)).start()
    try:
        yield Plane(server, project, tokens, "delay", version)
    finally:
        server.stop()
        mp.undo()
