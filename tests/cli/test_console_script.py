"""The installed `lakestack` script: main's exit codes, output flushed, and no crash at exit.

The script leaves with `os._exit` after what finalization would do (threads, atexit, flush),
because Arrow's threads can release a Python object during interpreter teardown and abort the
process (exit 134). These tests run the real script, as a user or CI does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lakestack import __version__

SCRIPT = Path(sys.executable).with_name("lakestack")


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    if not SCRIPT.is_file():
        pytest.fail(f"{SCRIPT} is missing: `make setup` installs the console script")
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=300, cwd=cwd, check=False
    )


def test_the_script_exits_with_mains_codes(tmp_path: Path) -> None:
    done = _run("--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"lakestack {__version__}")
    assert _run("no-such-command").returncode == 2
    failed = _run("validate", "-p", str(tmp_path / "missing"))
    assert failed.returncode == 1 and "lakestack.yaml" in failed.stderr


def test_the_script_flushes_piped_output(tmp_path: Path) -> None:
    assert _run("init", str(tmp_path / "p")).returncode == 0
    for _ in range(3):  # each run reads the lake through deltalake's Arrow threads
        done = _run("tables", "list", "-p", str(tmp_path / "p"))
        assert done.returncode == 0, done.stderr
    done = _run("tables", "list", "-p", str(tmp_path / "p"), "--json")
    assert done.returncode == 0 and done.stdout.strip().startswith(("[", "{"))


def test_python_dash_m_runs_the_same_script() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lakestack", "no-such-command"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2 and "no-such-command" in done.stderr


def test_run_waits_for_threads_then_runs_atexit_handlers() -> None:
    code = (
        "import atexit, threading\n"
        "from lakestack.cli import _app\n"
        "go = threading.Event()\n"
        "def work():\n"
        "    go.wait()\n"
        "    print('thread done', flush=True)\n"
        "threading.Thread(target=work).start()\n"
        "atexit.register(lambda: print('atexit ran', flush=True))\n"
        "_app.main = go.set  # the command returns while the thread still works\n"
        "_app.run()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["thread done", "atexit ran"]
