"""The web console: the whole loop in a browser, served at `/ui` by the control plane.

`lakestack ui` (and `lakestack server`) serve the console beside the REST API it is a client
of: every page is plain HTML and JavaScript shipped in this package that calls
`/api/v1/...` with the signed-in principal's bearer token, so the console can do what that
principal's roles allow and nothing more. Charts are drawn by `lakestack.charts` (a vendored
Apache ECharts build); nothing is loaded from a network. A single-user project (no
principals) gets a one-time launch token in the URL `lakestack ui` prints.

Example:
    >>> from lakestack.console import console_app
    >>> app = console_app(load_project("."), launch_token="...")  # doctest: +SKIP
"""

from __future__ import annotations

from lakestack.console._app import console_app, serve_console

__all__ = ["console_app", "serve_console"]
