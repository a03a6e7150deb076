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


def seed_registries(root: Path, template: Path) -> None:
    """Give every embedded environment a copy of a migrated MLflow database (seconds saved)."""
    import shutil

    for env in ("dev", "staging", "prod"):
        (root / ".lakestack" / env).mkdir(parents=True, exist_ok=True)
        shutil.copy(template, root / ".lakestack" / env / "mlflow.db")


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


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ControlPlaneProcess:
    """`lakestack server` in a subprocess on 127.0.0.1, stopped by `stop`."""

    def __init__(self, root: Path, port: int, environments: list[str]) -> None:
        self.root = root
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.environments = environments
        self.log = root / f"server-{port}.log"
        self.proc: Any = None

    def start(self, timeout: float = 120.0) -> ControlPlaneProcess:
        import os
        import subprocess
        import sys
        import time

        import httpx

        envs = [arg for env in self.environments for arg in ("--env", env)]
        cmd = [sys.executable, "-m", "lakestack", "server", "-p", str(self.root), *envs]
        cmd += ["--port", str(self.port), "--log-level", "warning"]
        environ = {k: v for k, v in os.environ.items() if not k.startswith("LAKESTACK_")}
        self.proc = subprocess.Popen(
            cmd, stdout=self.log.open("ab"), stderr=subprocess.STDOUT, env=environ
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server not up in {timeout}s: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)
