"""The control plane under test: the server process, its project and everyone's tokens."""

from __future__ import annotations

from dataclasses import dataclass

from access_kit import ControlPlaneProcess

from lakestack.config import Project


@dataclass
class Plane:
    """The server, its project, and a token per (principal, environment)."""

    server: ControlPlaneProcess
    project: Project
    tokens: dict[tuple[str, str], str]
    model: str
    version: int

    @property
    def url(self) -> str:
        return self.server.url

    def headers(self, principal: str, env: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[principal, env]}"}
