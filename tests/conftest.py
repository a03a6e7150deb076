"""Fixtures every test folder may use: temporary projects, the real local services, MLflow
databases and served endpoints. Helpers that are not fixtures are in the test kit, `_kit`."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from _kit.clusters import (
    MlflowServer,
    RayCluster,
    S3Server,
    mlflow_server_running,
    ray_cluster_running,
    s3_server_running,
)

# Rich wraps at 80 columns when not on a terminal; tests read whole lines.
os.environ.setdefault("COLUMNS", "200")

from lakestack.config import Project, load_project
from lakestack.lake import Lake
from lakestack.serving import ServerProcess
from lakestack.templates import scaffold

SERVICES = {"postgres": ("127.0.0.1", 5432), "redis": ("127.0.0.1", 6379)}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str) -> tuple[str, int]:
    """The address of a local service; skip when it is down, fail when CI requires services."""
    host, port = SERVICES[name]
    if not _reachable(host, port):
        message = f"{name} is not reachable on {host}:{port}"
        if os.environ.get("LAKESTACK_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message}, and LAKESTACK_REQUIRE_SERVICES=1 requires it")
        pytest.skip(message)
    return host, port


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A new project with the embedded default environments, in a temporary folder."""
    scaffold("default", tmp_path / "proj", name="testproj")
    return load_project(tmp_path / "proj")


@pytest.fixture
def lake(project: Project) -> Lake:
    """The dev lake of a new project."""
    return Lake.for_environment(project, "dev")


@pytest.fixture
def postgres() -> tuple[str, int]:
    return require_service("postgres")


@pytest.fixture
def redis_server() -> tuple[str, int]:
    return require_service("redis")


@pytest.fixture(scope="session")
def mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite database with every migration applied, to copy into projects.

    Creating one runs MLflow's migrations (seconds), so a session makes it once and
    `_kit.write_project(..., mlflow_db=...)` copies it.
    """
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(scope="session")
def pg_tracking_uri() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (`lakestack_test_<random>`), dropped
    afterwards; skips (or fails under LAKESTACK_REQUIRE_SERVICES=1) without PostgreSQL."""
    import psycopg

    require_service("postgres")
    user = os.environ.get("LAKESTACK_TEST_PG_USER", "postgres")
    password = os.environ.get("LAKESTACK_TEST_PG_PASSWORD")
    auth = user + (f":{password}" if password else "")
    name = f"lakestack_test_{uuid.uuid4().hex[:10]}"
    admin = f"postgresql://{auth}@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://{auth}@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def server_factory() -> Iterator[Callable[..., ServerProcess]]:
    """Make `lakestack serve` processes (`ServerProcess.lakestack_serve` arguments, the
    environment `prod` by default); any still running at the end are killed."""
    started: list[ServerProcess] = []

    def make(
        project: Project, endpoint: str = "tiny", env: str = "prod", **kw: object
    ) -> ServerProcess:
        server = ServerProcess.lakestack_serve(project.root, endpoint, env, **kw)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield make
    for server in started:
        server.kill()


@pytest.fixture(scope="session")
def child_bytecode_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Let the fresh processes a test starts (servers, gates, promoters) share compiled bytecode.

    This machine sets PYTHONDONTWRITEBYTECODE=1, so every fresh process would compile MLflow and
    scikit-learn again (about 20 s each). Only child processes see this: fresh-process
    semantics are unchanged, their imports are just cached.
    """
    cache = tmp_path_factory.getbasetemp().parent / "lakestack-pycache"
    saved = {k: os.environ.get(k) for k in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """An S3-compatible server (moto) on 127.0.0.1 for the whole session; see _kit/clusters.py."""
    with s3_server_running(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture(scope="session")
def ray_cluster(child_bytecode_cache: None) -> Iterator[RayCluster]:
    """A Ray head node started with `ray start --head` on 127.0.0.1; see _kit/clusters.py."""
    with ray_cluster_running() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def mlflow_server(
    s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory, child_bytecode_cache: None
) -> Iterator[MlflowServer]:
    """`mlflow server` on a fresh PostgreSQL database, artifacts on the S3 test server."""
    require_service("postgres")
    user = os.environ.get("LAKESTACK_TEST_PG_USER", "postgres")
    password = os.environ.get("LAKESTACK_TEST_PG_PASSWORD")
    auth = user + (f":{password}" if password else "")
    admin = f"postgresql://{auth}@127.0.0.1:5432/postgres"
    with mlflow_server_running(s3_server, admin, tmp_path_factory.mktemp("mlflow")) as server:
        yield server
