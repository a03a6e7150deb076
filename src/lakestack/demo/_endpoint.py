"""The demo's online endpoint: `lakestack serve` in its own process on 127.0.0.1.

The serving stage starts it, the monitoring stage replays traffic through it, and the demo
stops it at the end (a graceful shutdown: every logged request reaches the inference table).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakestack.errors import ServingError
from lakestack.serving import ServerProcess

if TYPE_CHECKING:
    import httpx

    from lakestack.config import Project
    from lakestack.lake import Lake

__all__ = ["DemoEndpoint"]


@dataclass
class DemoEndpoint:
    """An endpoint of the project served by `lakestack serve` in a subprocess."""

    project: Project
    name: str
    environment: str
    server: ServerProcess = field(init=False)

    def __post_init__(self) -> None:
        log = self.project.state_dir / self.environment / "serving" / f"{self.name}.log"
        self.server = ServerProcess.lakestack_serve(
            self.project.root,
            self.name,
            self.environment,
            log_file=log,
            args=("--log-level", "warning"),
        )

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def log_file(self) -> Path:
        return self.server.log_file

    def start(self, timeout: float = 180.0) -> DemoEndpoint:
        """Start the server and wait until `/ready` answers 200."""
        self.server.start(timeout)
        return self

    def ready(self, client: httpx.Client | None = None) -> dict[str, Any]:
        """`GET /ready`: the model and version answering."""
        return self.server.ready(client)

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
        self.server.stop()
