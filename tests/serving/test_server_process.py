"""`ServerProcess`: a server command in a subprocess, ready over HTTP, stopped by SIGTERM."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest

from lakestack.errors import ServingError
from lakestack.serving import ServerProcess, free_port


def _http_server(tmp_path: Path, **kw: object) -> ServerProcess:
    port = free_port()
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    return ServerProcess(cmd, port, tmp_path / "http.log", ready_path="/", **kw)  # type: ignore[arg-type]


def test_it_is_ready_when_the_path_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    server = _http_server(tmp_path)
    with server.start(timeout=60) as running:
        assert running.running
        assert httpx.get(server.url + "/", timeout=5).status_code == 200
    assert not server.running
    assert server.process is not None and server.process.returncode in (0, -15)


def test_a_server_that_exits_early_is_an_error_quoting_its_log(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import sys; print('no model here'); sys.exit(3)"]
    server = ServerProcess(cmd, free_port(), tmp_path / "bad.log", name="the bad server")
    with pytest.raises(ServingError, match=r"the bad server exited with 3.*no model here"):
        server.start(timeout=60)


def test_a_server_never_ready_is_stopped_after_the_timeout(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import time; time.sleep(600)"]
    server = ServerProcess(cmd, free_port(), tmp_path / "mute.log")
    with pytest.raises(ServingError, match="was not ready"):
        server.start(timeout=1)
    assert not server.running


def test_lakestack_serve_is_the_cli_command_on_a_free_port(tmp_path: Path) -> None:
    server = ServerProcess.lakestack_serve(
        tmp_path, "flights-delay", "prod", args=["--workers", "2"]
    )
    assert server.command[1:] == [
        *("-m", "lakestack", "serve", "flights-delay", "--env", "prod"),
        *("--project", str(tmp_path), "--port", str(server.port), "--workers", "2"),
    ]
    assert server.log_file.parent == tmp_path / ".lakestack" / "prod" / "serving"
    assert not server.stop()  # never started


def test_a_group_server_is_ready_when_its_port_listens_and_stops_with_its_children(
    tmp_path: Path,
) -> None:
    port = free_port()
    child_pid = tmp_path / "child.pid"
    code = (
        "import socket, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(child_pid)!r}, 'w').write(str(child.pid))\n"
        "server = socket.socket(); server.bind(('127.0.0.1', int(sys.argv[1]))); server.listen()\n"
        "time.sleep(600)\n"
    )
    server = ServerProcess(
        [sys.executable, "-c", code, str(port)],
        port,
        tmp_path / "tcp.log",
        ready_path=None,
        own_group=True,
    )
    server.start(timeout=60)
    child = int(child_pid.read_text())
    assert server.stop(timeout=30)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
