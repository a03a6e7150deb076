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
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port nobody listens on at the moment, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_module(name: str, why: str) -> None:
    """Skip when an optional package is missing; fail when CI requires every service."""
    if importlib.util.find_spec(name) is not None:
        return
    message = f"{why} needs the {name!r} package, which is not installed (make setup installs it)"
    if os.environ.get("LAKESTACK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message}, and LAKESTACK_REQUIRE_SERVICES=1 requires it")
    pytest.skip(message)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


@dataclass
class ServerProcess:
    """A server command in its own process group, its output in a log file."""

    name: str
    command: list[str]
    port: int
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180.0) -> None:
        env = {**os.environ, **self.env}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.tail()}")
            if _listening(self.port):
                return
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(
            f"{self.name} did not listen on {self.port} in {timeout:g} s:\n{self.tail()}"
        )

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM the group, wait until it is empty, then SIGKILL what is left."""
        if self.proc is None:
            return
        group = self.proc.pid  # the leader of a new session: its pid is the group id
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _group_alive(group):
            with contextlib.suppress(ChildProcessError):
                self.proc.poll()
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        self.proc = None


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


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
        "moto server",
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        port,
        workdir / "moto.log",
    )
    server.start(timeout=60)
    s3 = S3Server(f"http://127.0.0.1:{port}")
    saved = {key: os.environ.get(key) for key in s3.env}
    os.environ.update(s3.env)
    try:
        yield s3
    finally:
        _restore(saved)
        server.stop(grace=10)


# -- the Ray cluster -------------------------------------------------------------------------


@dataclass
class RayCluster:
    """A Ray head node; `address` is its Ray Client address, as `engine:` spells it."""

    address: str
    temp_dir: Path


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
    server = ServerProcess("ray head", command, client_port, temp_dir / "head.log", env)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # the clients (this process, the CLI it starts) send the token
    try:
        server.start(timeout=180)
        yield RayCluster(f"ray://127.0.0.1:{client_port}", temp_dir)
    finally:
        server.stop(grace=30)
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
    server = ServerProcess("mlflow server", command, port, workdir / "mlflow-server.log", env)
    try:
        server.start(timeout=300)
        yield MlflowServer(f"http://127.0.0.1:{port}", name, f"s3://{bucket}/artifacts")
    finally:
        server.stop(grace=20)
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
