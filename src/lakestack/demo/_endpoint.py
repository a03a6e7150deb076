"""The demo's online endpoint: `lakestack serve` in its own process on 127.0.0.1.

The serving stage starts it, the monitoring stage replays traffic through it, and the demo
stops it at the end (a graceful shutdown: every logged request reaches the inference table).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakestack.errors import ServingError

if TYPE_CHECKING:
    import httpx

    from lakestack.config import Project
    from lakestack.lake import Lake

__all__ = ["DemoEndpoint"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoEndpoint:
    """An endpoint of the project served by `lakestack serve` in a subprocess."""

    project: Project
    name: str
    environment: str
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.project.state_dir / self.environment / "serving" / f"{self.name}.log"

    def start(self, timeout: float = 180.0) -> DemoEndpoint:
        """Start the server and wait until `/ready` answers 200."""
        import httpx

        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "lakestack",
            "serve",
            self.name,
            "--env",
            self.environment,
            "--project",
            str(self.project.root),
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServingError(
                    f"`lakestack serve {self.name}` exited with {self.process.returncode}: "
                    f"{self.log_file.read_text()[-2000:]}"
                )
            try:
                if httpx.get(self.url + "/ready", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise ServingError(
            f"endpoint {self.name} was not ready in {timeout:.0f} s; see {self.log_file}"
        )

    def ready(self, client: httpx.Client | None = None) -> dict[str, Any]:
        """`GET /ready`: the model and version answering."""
        import httpx

        response = (client or httpx).get(self.url + "/ready", timeout=5.0)
        return dict(response.json())

    def wait_for_version(self, version: int, timeout: float = 60.0) -> float:
        """Wait until the endpoint answers with `version` (it follows the alias); seconds."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.ready().get("version") == version:
                return time.monotonic() - started
            time.sleep(0.2)
        raise ServingError(f"endpoint {self.name} did not switch to version {version}")

    def wait_logged(self, lake: Lake, rows: int, timeout: float = 120.0) -> float:
        """Wait until the inference table holds `rows` rows (the log appends off the request
        path, every `log_interval_s`); seconds waited."""
        from lakestack.serving import inference_table

        table = inference_table(self.name)
        started = time.monotonic()
        while True:
            have = lake.info(table).rows if lake.exists(table) else 0
            if have >= rows:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise ServingError(f"{table} has {have} rows after {timeout:.0f} s, not {rows}")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM: in-flight requests finish and the inference log is flushed."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
