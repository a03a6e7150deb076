"""A server in its own process on 127.0.0.1: start it, wait until it is ready, stop it.

`ServerProcess.lakestack_serve` runs `lakestack serve <endpoint>`; the demo, the tests and the
serving benchmark all start their endpoints through it (the benchmark also runs `mlflow models
serve` with it, ready on `/health`).
"""

from __future__ import annotations

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
        ready_path: the path that answers 200 once it serves.
        env: its environment (default: this process's).
        name: how errors call it.

    Example:
        >>> server = ServerProcess.lakestack_serve(root, "flights_delay", "prod")  # doctest: +SKIP
        >>> with server.start():  # doctest: +SKIP
        ...     httpx.post(server.url + "/invocations", json=payload)
    """

    command: Sequence[str]
    port: int
    log_file: Path
    ready_path: str = "/ready"
    env: Mapping[str, str] | None = None
    name: str = "server"
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
                list(self.command), stdout=out, stderr=subprocess.STDOUT, env=environ
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise ServingError(
                    f"{self.name} exited with {code} before it was ready; its log "
                    f"({self.log_file}) ends: {self.log_text()[-_TAIL:]}"
                )
            try:
                if httpx.get(self.url + self.ready_path, timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise ServingError(
            f"{self.name} was not ready on {self.url}{self.ready_path} within {timeout:.0f} s; "
            f"its log ({self.log_file}) ends: {self.log_text()[-_TAIL:]}"
        )

    def ready(self, client: httpx.Client | None = None) -> dict[str, Any]:
        """The JSON body of `GET <ready_path>` (for `lakestack serve`: model and version)."""
        import httpx

        response = (client or httpx).get(self.url + self.ready_path, timeout=5.0)
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
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return False
        return self.process.returncode in (0, -15)

    def kill(self) -> None:
        """SIGKILL: no shutdown at all (what a crash looks like to the server's state)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

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
