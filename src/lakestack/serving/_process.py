"""A server in its own process on 127.0.0.1: start it, wait until it is ready, stop it.

`ServerProcess.lakestack_serve` runs `lakestack serve <endpoint>`; the demo, the tests and the
serving benchmark all start their endpoints through it (the benchmark also runs `mlflow models
serve` with it, ready on `/health`; the tests run an object store and a Ray head with it, ready
when their port listens).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakestack.errors import ServingError

if TYPE_CHECKING:
    from types import TracebackType

    import httpx

__all__ = ["ServerProcess", "free_port"]

_TAIL = 2000  # characters of the server's log quoted in an error


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the OS picks it; another process may take it later)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A server command in a subprocess, with its output in a log file.

    Args:
        command: the command line.
        port: the port it listens on, on 127.0.0.1.
        log_file: where its stdout and stderr go (appended).
        ready_path: the path that answers 200 once it serves; None: ready once the port
            accepts connections (a server that does not speak HTTP).
        env: its environment (default: this process's).
        name: how errors call it.
        own_group: start it in a process group of its own and signal the whole group when
            stopping (a server that starts processes of its own, like `ray start`).

    Example:
        >>> server = ServerProcess.lakestack_serve(root, "flights_delay", "prod")  # doctest: +SKIP
        >>> with server.start():  # doctest: +SKIP
        ...     httpx.post(server.url + "/invocations", json=payload)
    """

    command: Sequence[str]
    port: int
    log_file: Path
    ready_path: str | None = "/ready"
    env: Mapping[str, str] | None = None
    name: str = "server"
    own_group: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @classmethod
    def lakestack_serve(
        cls,
        project_root: Path,
        endpoint: str,
        environment: str,
        *,
        port: int | None = None,
        log_file: Path | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> ServerProcess:
        """`lakestack serve <endpoint> --env <environment>` of the project in `project_root`.

        Args:
            project_root: the project folder.
            endpoint: the endpoint's name in lakestack.yaml.
            environment: the environment to serve from.
            port: the port (default: a free one).
            log_file: the log (default: `<project>/.lakestack/<env>/serving/<endpoint>-<port>.log`).
            args: more options of `lakestack serve` (`--log-level warning`, `--workers 2`).
            env: the server's environment variables (default: this process's).
        """
        port = port or free_port()
        root = Path(project_root)
        log = log_file or root / ".lakestack" / environment / "serving" / f"{endpoint}-{port}.log"
        command = [
            *(sys.executable, "-m", "lakestack", "serve", endpoint),
            *("--env", environment, "--project", str(root), "--port", str(port)),
            *args,
        ]
        return cls(command, port, log, env=env, name=f"`lakestack serve {endpoint}`")

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        """What the server wrote so far."""
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def start(self, timeout: float = 180.0) -> ServerProcess:
        """Start the process and wait until `ready_path` answers 200.

        Raises:
            ServingError: it exited, or was not ready within `timeout` seconds (it is then
                stopped); the message quotes the end of its log.
        """
        import httpx

        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        environ = None if self.env is None else dict(self.env)
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(
                list(self.command),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environ,
                start_new_session=self.own_group,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise ServingError(
                    f"{self.name} exited with {code} before it was ready; its log "
                    f"({self.log_file}) ends: {self.log_text()[-_TAIL:]}"
                )
            if self._answers(httpx):
                return self
            time.sleep(0.2)
        self.stop()
        raise ServingError(
            f"{self.name} was not ready on {self.url}{self.ready_path or ''} within "
            f"{timeout:.0f} s; "
            f"its log ({self.log_file}) ends: {self.log_text()[-_TAIL:]}"
        )

    def _answers(self, http: Any) -> bool:
        """Whether it is ready: `ready_path` answers 200, or (without one) the port listens."""
        if self.ready_path is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
                    return True
            except OSError:
                return False
        try:
            return bool(http.get(self.url + self.ready_path, timeout=2.0).status_code == 200)
        except http.HTTPError:
            return False

    def ready(self, client: httpx.Client | None = None) -> dict[str, Any]:
        """The JSON body of `GET <ready_path>` (for `lakestack serve`: model and version)."""
        import httpx

        response = (client or httpx).get(self.url + (self.ready_path or "/"), timeout=5.0)
        return dict(response.json())

    def stop(self, timeout: float = 60.0) -> bool:
        """SIGTERM and wait: in-flight requests finish, the inference log is flushed.

        Returns:
            Whether it exited by itself (status 0, or the re-raised SIGTERM uvicorn ends with);
            False when it had to be killed after `timeout` seconds, or had failed before.
        """
        if self.process is None:
            return False
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return False
        if self.own_group:  # what the server started may outlive it: wait for the group
            deadline = time.monotonic() + timeout
            while self._group_alive() and time.monotonic() < deadline:
                time.sleep(0.2)
            self._signal(signal.SIGKILL)
        return self.process.returncode in (0, -15)

    def kill(self) -> None:
        """SIGKILL: no shutdown at all (what a crash looks like to the server's state)."""
        if self.process is not None and (self.process.poll() is None or self.own_group):
            self._signal(signal.SIGKILL)
            self.process.wait(10)

    def _signal(self, number: int) -> None:
        """Send `number` to the process, or to its whole group with `own_group`."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            if self.own_group:
                os.killpg(self.process.pid, number)  # it leads its group: pid is the group id
            else:
                self.process.send_signal(number)

    def _group_alive(self) -> bool:
        assert self.process is not None
        try:
            os.killpg(self.process.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def __enter__(self) -> ServerProcess:
        if self.process is None:
            self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
