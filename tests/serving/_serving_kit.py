"""Helpers of the serving tests: a project with a SQLite registry and tiny models, and
`lakestack serve` in a subprocess on 127.0.0.1 (the fixtures are in conftest.py)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import pandas as pd
import yaml

from lakestack.config import Project, load_project
from lakestack.registry import ModelRegistry

if TYPE_CHECKING:
    from starlette.testclient import TestClient

FEATURES = ["x1", "x2", "x3"]


def frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return pd.DataFrame(x, columns=FEATURES)


def labels(x: pd.DataFrame, seed: int = 0) -> Any:
    rng = np.random.default_rng(seed)
    logit = 2 * x["x1"] - x["x2"] + 0.5 * x["x3"]
    return (rng.random(len(x)) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()


def write_project(
    root: Path,
    mlflow_db: Path,
    endpoints: dict[str, Any] | None = None,
    jobs: dict[str, Any] | None = None,
) -> Project:
    for env in ("dev", "prod"):
        (root / ".lakestack" / env).mkdir(parents=True, exist_ok=True)
        if not (root / ".lakestack" / env / "mlflow.db").exists():
            shutil.copy(mlflow_db, root / ".lakestack" / env / "mlflow.db")
    doc = {
        "project": {"name": "servetest"},
        "environments": {
            env: {
                "lake": f".lakestack/{env}/lake",
                "tracking": f"sqlite:///.lakestack/{env}/mlflow.db",
                "online_store": f"sqlite:///.lakestack/{env}/online.db",
            }
            for env in ("dev", "prod")
        },
        "endpoints": endpoints or {},
        "jobs": jobs or {},
    }
    (root / "lakestack.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_project(root)


class Served:
    """A project, its prod registry, and helpers to log models and run endpoints."""

    def __init__(self, root: Path, mlflow_db: Path) -> None:
        self.root = root
        self.mlflow_db = mlflow_db
        self.project = write_project(root, mlflow_db)
        self.registry = ModelRegistry(self.project, "prod")

    def configure(self, **endpoint: Any) -> Project:
        endpoint.setdefault("model", "tiny")
        endpoint.setdefault("log_interval_s", 0.2)
        self.project = write_project(self.root, self.mlflow_db, {"tiny": endpoint})
        self.registry = ModelRegistry(self.project, "prod")
        return self.project

    def log_sklearn(self, seed: int = 0, *, promote: str | None = "production", **kw: Any) -> int:
        from mlflow.models import infer_signature
        from sklearn.linear_model import LogisticRegression

        x = frame(200, seed)
        model = LogisticRegression().fit(x, labels(x, seed))
        info = self.registry.log_model(
            model,
            "tiny",
            signature=infer_signature(x, model.predict_proba(x)),
            input_example=x.head(3),
            flavor_options={"pyfunc_predict_fn": "predict_proba"},
            **kw,
        )
        if promote:
            self.registry.promote("tiny", info.version, to=promote, force=True, reason="test")
        return info.version

    def log_typed(
        self,
        types: dict[str, str],
        *,
        optional: frozenset[str] = frozenset(),
        name: str = "tiny",
        promote: str | None = "production",
    ) -> int:
        """Log `typed_model()` with input columns of these MLflow types; its version."""
        info = self.registry.log_model(
            typed_model(),
            name,
            signature=typed_signature(types, optional),
            flavor="pyfunc",
        )
        if promote:
            self.registry.promote(name, info.version, to=promote, force=True, reason="test")
        return info.version


def typed_model() -> Any:
    """An MLflow `PythonModel` that takes any columns and answers, per row, how many of its
    values are not null (a float): a model of any input types, defined here so that
    cloudpickle stores it by value and a server process loads it without this module."""
    import mlflow.pyfunc

    class CountValues(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            # no type hints: MLflow would read them as an input schema
            return [float(model_input.iloc[i].notna().sum()) for i in range(len(model_input))]

    return CountValues()


def typed_signature(types: dict[str, str], optional: frozenset[str] = frozenset()) -> Any:
    """An MLflow signature of named columns of MLflow types (`boolean`, `long`, ...)."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    inputs = [ColSpec(t, name, required=name not in optional) for name, t in types.items()]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema([ColSpec("double")]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`lakestack serve` in a subprocess on 127.0.0.1."""

    def __init__(self, project: Project, endpoint: str = "tiny", env: str = "prod") -> None:
        self.project = project
        self.endpoint = endpoint
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = project.root / f"serve-{self.port}.log"

    def start(self, timeout: float = 120.0) -> Server:
        cmd = [
            sys.executable,
            "-m",
            "lakestack",
            "serve",
            self.endpoint,
            "--env",
            self.env,
            "--project",
            str(self.project.root),
            "--port",
            str(self.port),
        ]
        self.proc = subprocess.Popen(cmd, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/ready", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server not ready in {timeout}s: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> bool:
        """SIGTERM and wait: the graceful shutdown; whether it completed.

        uvicorn re-raises the signal after a graceful shutdown, so the exit status is -15.
        """
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)
        text = self.log.read_text()
        return self.proc.returncode in (0, -15) and "Application shutdown complete" in text


def wait_ready(client: TestClient, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/ready").status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError(client.get("/ready").json())
