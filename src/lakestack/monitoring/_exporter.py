"""A Prometheus scrape target for monitors: their latest drift and quality, read per scrape."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client.registry import Collector

from lakestack.errors import MonitoringError
from lakestack.monitoring._report import monitor_registry

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from prometheus_client import Metric

    from lakestack.access import TokenGate
    from lakestack.lake import Lake

__all__ = ["MetricsServer", "MonitorCollector", "serve_metrics"]


class MonitorCollector(Collector):
    """A prometheus_client collector reading the monitors' latest windows at every scrape."""

    def __init__(self, lake: Lake, monitors: list[str]) -> None:
        self.lake = lake
        self.monitors = list(monitors)

    def describe(self) -> Iterable[Metric]:
        # Nothing up front: registering must not read the lake.
        return []

    def collect(self) -> Iterable[Metric]:
        return monitor_registry(self.lake, self.monitors).collect()


@dataclass
class MetricsServer:
    """The HTTP server of `serve_metrics`, answering in a daemon thread."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        host = str(self.server.server_address[0])
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/metrics"

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C interrupts the wait)."""
        self.thread.join()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def serve_metrics(
    lake: Lake,
    monitors: list[str],
    *,
    host: str = "127.0.0.1",
    port: int = 9108,
    gate: TokenGate | None = None,
) -> MetricsServer:
    """Serve the gauges of `prometheus_metrics` on `http://host:port/metrics` for Prometheus.

    Every scrape reads the monitors' metric tables again, so the target follows
    `lakestack monitor run` without a restart. prometheus_client's server answers on every
    path, negotiates OpenMetrics and gzip, and runs in a daemon thread.

    Args:
        lake: the environment's lake.
        monitors: the monitors' names.
        host: the address to listen on (`0.0.0.0` for every interface).
        port: the port (0: a free one, see `MetricsServer.port`).
        gate: answer only scrapes with a bearer token it accepts (`lakestack.access`);
            others get 401 or 403.

    Returns:
        The running server; `close()` stops it.

    Raises:
        MonitoringError: the address cannot be bound (the port is taken, the host unknown).

    Example:
        >>> server = serve_metrics(lake, ["flights"], port=9108)  # doctest: +SKIP
        >>> server.url  # doctest: +SKIP
        'http://127.0.0.1:9108/metrics'
    """
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitorCollector(lake, monitors))
    try:
        if gate is None:
            server, thread = start_http_server(port, addr=host, registry=registry)
        else:
            server, thread = _start_gated(registry, gate, host, port)
    except OSError as exc:
        raise MonitoringError(
            f"cannot serve the monitor metrics on {host}:{port}: {exc}; choose another --port "
            "or --host"
        ) from exc
    return MetricsServer(server, thread)


def _start_gated(registry: Any, gate: TokenGate, host: str, port: int) -> tuple[Any, Any]:
    """prometheus_client's WSGI app behind a token gate, in a threading server."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer

    from lakestack.access import gate_wsgi

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # no line per scrape
            pass

    app = gate_wsgi(make_wsgi_app(registry), gate)
    server = make_server(host, port, app, ThreadingWSGIServer, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread
