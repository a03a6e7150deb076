"""A fresh virtual environment with lakestack installed from this checkout, in which the deploy
tests run generated projects as a user would; and actionlint."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FreshVenv:
    """A virtual environment with lakestack (editable, from this checkout), pytest and ruff at
    the versions of uv.lock, and pip (the generated workflows install with it)."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a command run in it: its `bin` first on PATH, no lakestack
        settings of this process."""
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("LAKESTACK_", "VIRTUAL_ENV"))
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.root)
        env.update(extra)
        return env

    def run(
        self, *args: str | Path, cwd: Path, check: bool = True, timeout: float = 900, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run a command of the venv (`lakestack`, `python`, ...) in `cwd`; fail with its output."""
        command = [
            str(self.bin / str(args[0])) if (self.bin / str(args[0])).exists() else str(args[0])
        ]
        command += [str(a) for a in args[1:]]
        done = subprocess.run(
            command, cwd=cwd, env=self.env(**env), capture_output=True, text=True, timeout=timeout
        )
        if check and done.returncode != 0:
            pytest.fail(
                f"{' '.join(command)} exited {done.returncode} in {cwd}\n"
                f"--- stdout\n{done.stdout[-6000:]}\n--- stderr\n{done.stderr[-6000:]}"
            )
        return done


def actionlint() -> str:
    """The actionlint of this environment (the dev group installs it)."""
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which(
        "actionlint"
    )
    if found is None:
        pytest.fail("actionlint is not installed: `make setup` installs the dev group with it")
    return found


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def make_fresh_venv(root: Path) -> FreshVenv:
    """Create the environment at `root`: uv's cache makes it a matter of seconds."""
    pins = root.parent / "pins.txt"
    export = "export --frozen --no-hashes --no-emit-project --no-dev --format requirements-txt"
    tools = [f"{name}=={importlib.metadata.version(name)}" for name in ("pytest", "ruff")]
    install = ["pip", "install", "--quiet", "--python", str(root / "bin" / "python")]
    steps = [
        [*_uv(), "venv", "--seed", "--quiet", "--python", sys.executable, str(root)],
        [*_uv(), *export.split(), "--quiet", "--output-file", str(pins)],
        [*_uv(), *install, "-r", str(pins), *tools, "-e", str(CHECKOUT)],
    ]
    for step in steps:
        done = subprocess.run(step, cwd=CHECKOUT, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(step)} failed:\n{done.stdout}\n{done.stderr}")
    return FreshVenv(root)
