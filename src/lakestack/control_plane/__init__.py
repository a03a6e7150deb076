"""The control plane: a REST API over a project (`lakestack server --env prod`) and its client.

The server authenticates bearer tokens, acts as the token's principal so that the roles of
`lakestack.access` decide and audit every write, and is the one process that writes the
environments it governs. An environment that names it (`control_plane: <url>`) has its CLI
writes sent here by `RemoteEnvironment`.

Example:
    >>> from lakestack.control_plane import create_app
    >>> app = create_app(load_project("."), ["prod"])  # doctest: +SKIP
"""

from __future__ import annotations

from lakestack.control_plane._app import create_app, serve
from lakestack.control_plane._client import RemoteEnvironment, remote_for

__all__ = ["RemoteEnvironment", "create_app", "remote_for", "serve"]
