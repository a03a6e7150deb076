"""Seldon MLServer, the reference server of the Open Inference Protocol, beside lakestack.

MLServer 1.7 cannot share lakestack's lock: it pins FastAPI below 0.116 (so Starlette below
0.47) and protobuf below 7, where lakestack locks Starlette 1.x and protobuf 7. It gets an
environment of its own, built with uv and kept outside the repository (under
`$LAKESTACK_TEST_CACHE`, default `~/.cache/lakestack-tests`), so a second run finds it ready.
Its LightGBM and scikit-learn are the versions installed here, so both servers load the same
model file the same way.

- `mlserver_env()`: the environment's `bin` folder, built on first use (a file lock makes
  concurrent builders wait for one another); raises `MLServerUnavailable` with the reason.
- `require_mlserver()`: the same for a test: skips with the reason, or fails under
  `LAKESTACK_REQUIRE_SERVICES=1`.
- `mlserver_process(folder, model_file, ...)`: a `ServerProcess` running `mlserver start` on
  free ports with one model, ready on `/v2/health/ready` (the tests and
  benchmarks/serving_bench.py use it).

Example:
    >>> bin_dir = require_mlserver()  # doctest: +SKIP
    >>> with mlserver_process(tmp / "mls", booster_file, name="m", bin_dir=bin_dir) as server:
    ...     httpx.post(f"{server.url}/v2/models/m/infer", json=request)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from lakestack.serving import ServerProcess, free_port

__all__ = [
    "IMPLEMENTATIONS",
    "MLServerUnavailable",
    "mlserver_env",
    "mlserver_packages",
    "mlserver_process",
    "require_mlserver",
]

MLSERVER_VERSION = "1.7.1"
IMPLEMENTATIONS = {
    "lightgbm": "mlserver_lightgbm.LightGBMModel",  # a file written by `Booster.save_model`
    "sklearn": "mlserver_sklearn.SKLearnModel",  # a joblib (or pickle) file of an estimator
}
"""MLServer's runtimes by the short names `mlserver_process` takes."""
_BUILD_TIMEOUT_S = 900.0


class MLServerUnavailable(RuntimeError):
    """MLServer's environment could not be built (no uv, no package index, a failed install)."""


def mlserver_packages() -> list[str]:
    """What the environment installs: MLServer and its runtimes, with this environment's
    LightGBM and scikit-learn versions."""
    return [
        f"mlserver=={MLSERVER_VERSION}",
        f"mlserver-lightgbm=={MLSERVER_VERSION}",
        f"mlserver-sklearn=={MLSERVER_VERSION}",
        f"lightgbm=={version('lightgbm')}",
        f"scikit-learn=={version('scikit-learn')}",
        # uvloop 0.22 made `get_event_loop` raise without a running loop, which MLServer
        # 1.7's parallel workers call at start: they die and the model never loads
        "uvloop<0.22",
    ]


def _cache_root() -> Path:
    configured = os.environ.get("LAKESTACK_TEST_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "lakestack-tests"


def mlserver_env(packages: list[str] | None = None) -> Path:
    """The `bin` folder of an environment with MLServer, built on first use.

    Raises:
        MLServerUnavailable: uv is not on PATH, or creating the environment failed (the
            message quotes uv's output).
    """
    packages = packages or mlserver_packages()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    key = hashlib.sha256("\n".join([python, *sorted(packages)]).encode()).hexdigest()[:12]
    root = _cache_root() / f"mlserver-{key}"
    done = root / ".complete"
    if done.exists():
        return root / "bin"
    uv = shutil.which("uv")
    if uv is None:
        raise MLServerUnavailable("uv is not on PATH: it builds MLServer's environment")
    root.parent.mkdir(parents=True, exist_ok=True)
    with _locked(root.parent / f"mlserver-{key}.lock"):
        if done.exists():  # another process built it while this one waited
            return root / "bin"
        shutil.rmtree(root, ignore_errors=True)  # a build cut short
        _run([uv, "venv", "--python", sys.executable, str(root)])
        _run([uv, "pip", "install", "--python", str(root / "bin" / "python"), *packages])
        done.write_text("\n".join(packages) + "\n")
    return root / "bin"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(command: list[str]) -> None:
    environ = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S, env=environ
        )
    except subprocess.TimeoutExpired:
        raise MLServerUnavailable(
            f"`{' '.join(command)}` took over {_BUILD_TIMEOUT_S:.0f} s"
        ) from None
    if done.returncode != 0:
        raise MLServerUnavailable(
            f"`{' '.join(command)}` failed ({done.returncode}): {(done.stderr or done.stdout)[-2000:]}"
        )


def require_mlserver() -> Path:
    """`mlserver_env()` for a test: skip with the reason it is unavailable, or fail under
    `LAKESTACK_REQUIRE_SERVICES=1`."""
    try:
        return mlserver_env()
    except MLServerUnavailable as exc:
        message = f"MLServer's environment could not be built: {exc}"
        if os.environ.get("LAKESTACK_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message}, and LAKESTACK_REQUIRE_SERVICES=1 requires it")
        pytest.skip(message)


def mlserver_process(
    folder: Path,
    model_file: Path,
    *,
    name: str,
    runtime: str = "lightgbm",
    model_version: str = "1",
    bin_dir: Path | None = None,
    workers: int = 0,
    port: int | None = None,
) -> ServerProcess:
    """`mlserver start` serving one model on free ports on 127.0.0.1 (not started yet).

    Args:
        folder: the model repository to write (settings, the model's folder, the log).
        model_file: the model, copied into the repository (a LightGBM booster file for
            `lightgbm`, a joblib file for `sklearn`).
        name: the model's name in `/v2/models/<name>`.
        runtime: `lightgbm` or `sklearn` (see `IMPLEMENTATIONS`).
        model_version: the version it answers in `model_version`.
        bin_dir: the environment (default: `mlserver_env()`).
        workers: MLServer's `parallel_workers` (0: inference in the server's process).
        port: the HTTP port (default: a free one).
    """
    bin_dir = bin_dir or mlserver_env()
    port = port or free_port()
    model_dir = folder / name
    model_dir.mkdir(parents=True, exist_ok=True)
    target = model_dir / model_file.name
    shutil.copyfile(model_file, target)
    settings = {
        "host": "127.0.0.1",
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "parallel_workers": workers,
        "metrics_dir": str(folder / ".metrics"),  # its workers share metrics there
        "debug": False,
    }
    (folder / "settings.json").write_text(json.dumps(settings))
    model_settings = {
        "name": name,
        "implementation": IMPLEMENTATIONS[runtime],
        "parameters": {"uri": f"./{target.name}", "version": model_version},
    }
    (model_dir / "model-settings.json").write_text(json.dumps(model_settings))
    environ = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return ServerProcess(
        [str(bin_dir / "mlserver"), "start", str(folder)],
        port,
        folder / "mlserver.log",
        ready_path="/v2/health/ready",
        env=environ,
        name=f"MLServer ({runtime}, {name})",
        own_group=True,  # its parallel workers are processes of its own
    )
