"""Servers of a production-shaped environment, started by the tests on 127.0.0.1 and stopped by
them (also when a test fails): an S3-compatible object store (moto in server mode), a Ray
cluster (`ray start --head`) and an MLflow tracking server (PostgreSQL backend, artifacts on
the object store).

Each server runs in a process group of its own, and stopping it signals that group only: a
test never touches processes it did not start. The fixtures are session-scoped (declared in
tests/conftest.py); a test that needs a fresh store uses a bucket of its own.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lakestack.serving import ServerProcess, free_port

BIN = Path(sys.executable).parent


def require_module(name: str, why: str) -> None:
    """Skip when an optional package is missing; fail when CI requires every service."""
    if importlib.util.find_spec(name) is not None:
        return
    message = f"{why} needs the {name!r} package, which is not installed (make setup installs it)"
    if os.environ.get("LAKESTACK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message}, and LAKESTACK_REQUIRE_SERVICES=1 requires it")
    pytest.skip(message)


# -- the object store ------------------------------------------------------------------------


@dataclass
class S3Server:
    """moto in server mode: an S3-compatible endpoint with fixed test credentials."""

    endpoint: str
    access_key: str = "lakestack-test"
    secret_key: str = "lakestack-test-secret"
    region: str = "us-east-1"

    def client(self) -> object:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    def bucket(self, prefix: str = "lake") -> str:
        """A new, empty bucket; its name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)  # type: ignore[attr-defined]
        return name

    @property
    def env(self) -> dict[str, str]:
        """The variables a lakestack.yaml of these tests reads with `${VAR}`."""
        return {
            "LAKESTACK_TEST_S3_ENDPOINT": self.endpoint,
            "LAKESTACK_TEST_S3_KEY": self.access_key,
            "LAKESTACK_TEST_S3_SECRET": self.secret_key,
        }

    def storage_options(self) -> dict[str, str]:
        """`storage_options` of an environment, written with `${VAR}`s as a user would."""
        return {
            "AWS_ENDPOINT_URL": "${LAKESTACK_TEST_S3_ENDPOINT}",
            "AWS_ACCESS_KEY_ID": "${LAKESTACK_TEST_S3_KEY}",
            "AWS_SECRET_ACCESS_KEY": "${LAKESTACK_TEST_S3_SECRET}",
            "AWS_REGION": self.region,
        }


@contextlib.contextmanager
def s3_server_running(workdir: Path) -> Iterator[S3Server]:
    require_module("moto", "the S3-compatible test server")
    port = free_port()
    server = ServerProcess(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        port,
        workdir / "moto.log",
        ready_path=None,
        name="moto server",
        own_group=True,
    )
    server.start(timeout=60)
    s3 = S3Server(f"http://127.0.0.1:{port}")
    saved = {key: os.environ.get(key) for key in s3.env}
    os.environ.update(s3.env)
    try:
        yield s3
    finally:
        _restore(saved)
        server.stop(timeout=10)


# -- the Ray cluster -------------------------------------------------------------------------


@dataclass
class RayCluster:
    """A Ray head node; `address` is its Ray Client address, as `engine:` spells it;
    `gcs_address` the head's own address (`RAY_ADDRESS`), which a plain `engine: ray` joins."""

    address: str
    temp_dir: Path
    gcs_address: str


@contextlib.contextmanager
def ray_cluster_running(cpus: int = 2) -> Iterator[RayCluster]:
    """`ray start --head --block` on 127.0.0.1 with token authentication and 2 CPUs.

    The temporary folder is short and private (Ray's socket paths must fit 107 bytes, and
    another Ray on this machine must not share its session files).
    """
    require_module("ray", "the Ray cluster")
    temp_dir = Path(tempfile.mkdtemp(prefix="lkray"))
    gcs_port, client_port = free_port(), free_port()
    env = {
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    command = [
        str(BIN / "ray"),
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--port={gcs_port}",
        f"--ray-client-server-port={client_port}",
        f"--num-cpus={cpus}",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
    ]
    server = ServerProcess(
        command,
        client_port,
        temp_dir / "head.log",
        ready_path=None,
        env={**os.environ, **env},
        name="ray head",
        own_group=True,
    )
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # the clients (this process, the CLI it starts) send the token
    try:
        server.start(timeout=180)
        yield RayCluster(f"ray://127.0.0.1:{client_port}", temp_dir, f"127.0.0.1:{gcs_port}")
    finally:
        server.stop(timeout=30)
        _restore(saved)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


# -- the MLflow tracking server --------------------------------------------------------------


@dataclass
class MlflowServer:
    """`mlflow server` with a PostgreSQL backend and its artifacts on the object store."""

    url: str
    database: str
    artifacts: str


@contextlib.contextmanager
def mlflow_server_running(s3: S3Server, admin_uri: str, workdir: Path) -> Iterator[MlflowServer]:
    """A fresh PostgreSQL database and bucket, and `mlflow server` on them (dropped after).

    Args:
        s3: the object store for the artifacts (`--artifacts-destination s3://...`).
        admin_uri: a PostgreSQL URI that may create databases (`postgresql://user@host/db`).
        workdir: where the server's log goes.
    """
    import psycopg

    name = f"lakestack_mlflow_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    bucket = s3.bucket("mlflow")
    backend = admin_uri.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    port = free_port()
    command = [
        str(BIN / "mlflow"), "server",
        "--backend-store-uri", f"{backend}/{name}",
        "--artifacts-destination", f"s3://{bucket}/artifacts",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    env = {
        "MLFLOW_S3_ENDPOINT_URL": s3.endpoint,
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_DEFAULT_REGION": s3.region,
    }
    server = ServerProcess(
        command,
        port,
        workdir / "mlflow-server.log",
        ready_path="/health",
        env={**os.environ, **env},
        name="mlflow server",
        own_group=True,
    )
    try:
        server.start(timeout=300)
        yield MlflowServer(f"http://127.0.0.1:{port}", name, f"s3://{bucket}/artifacts")
    finally:
        server.stop(timeout=20)
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
