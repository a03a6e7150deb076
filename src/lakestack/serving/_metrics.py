"""Prometheus metrics of an endpoint, in a registry of its own (one per app)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from lakestack.serving._inference_log import InferenceLog

__all__ = ["EndpointMetrics"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_PREDICTION_BUCKETS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 10.0, 100.0)


class EndpointMetrics:
    """Requests, latency, errors by kind, prediction distribution and the model version."""

    def __init__(self, endpoint: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = {"endpoint": endpoint}
        self._labels = labels
        self._children: dict[tuple[str, Any], Any] = {}  # labelled metrics, by labels
        self.requests = Counter(
            "lakestack_requests",
            "Scoring requests answered, by HTTP status.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lakestack_request_latency_seconds",
            "Time to answer a scoring request.",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        ).labels(**labels)
        self.errors = Counter(
            "lakestack_request_errors",
            "Refused or failed requests, by kind (malformed, type, missing_column, model, ...).",
            ["endpoint", "kind"],
            registry=self.registry,
        )
        self.rows = Counter(
            "lakestack_predictions",
            "Rows scored.",
            ["endpoint", "variant"],
            registry=self.registry,
        )
        self.prediction = Histogram(
            "lakestack_prediction_value",
            "Distribution of numeric predictions (the positive class for probabilities).",
            ["endpoint"],
            buckets=_PREDICTION_BUCKETS,
            registry=self.registry,
        ).labels(**labels)
        self.model_version = Gauge(
            "lakestack_model_version",
            "The model version served, by variant (production, canary, shadow).",
            ["endpoint", "model", "variant"],
            registry=self.registry,
        )

    def observe(self, status: int, seconds: float, kind: str | None = None) -> None:
        child = self._children.get(("requests", status))
        if child is None:  # `labels` takes a lock and builds a key: once per status
            child = self._children[("requests", status)] = self.requests.labels(
                self._labels["endpoint"], str(status)
            )
        child.inc()
        self.latency.observe(seconds)
        if kind is not None:
            self.errors.labels(self._labels["endpoint"], kind).inc()

    def predictions(self, values: list[Any], variant: str = "production") -> None:
        child = self._children.get(("rows", variant))
        if child is None:
            child = self._children[("rows", variant)] = self.rows.labels(
                self._labels["endpoint"], variant
            )
        child.inc(len(values))
        for value in values[:100]:  # a sample is enough for a distribution
            if isinstance(value, list) and value:
                value = value[-1]
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.prediction.observe(float(value))

    def set_version(self, model: str, version: int | None, variant: str = "production") -> None:
        self.model_version.labels(self._labels["endpoint"], model, variant).set(
            -1 if version is None else version
        )

    def watch(self, inference_log: InferenceLog) -> None:
        """Export the state of an inference log with every scrape."""
        self.registry.register(_LogCollector(self._labels["endpoint"], inference_log))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _LogCollector(Collector):
    """The inference log's figures, read when Prometheus scrapes."""

    def __init__(self, endpoint: str, inference_log: InferenceLog) -> None:
        self.endpoint = endpoint
        self.log = inference_log

    def collect(self) -> Iterator[Metric]:
        labels = ["endpoint"]
        value = [self.endpoint]
        figures: list[tuple[type[Any], str, str, float]] = [
            (
                GaugeMetricFamily,
                "lakestack_inference_log_backlog",
                "Inference records spooled but not yet in Delta.",
                self.log.backlog,
            ),
            (
                CounterMetricFamily,
                "lakestack_inference_log_written",
                "Inference records appended to the inference table by this process.",
                self.log.written,
            ),
            (
                CounterMetricFamily,
                "lakestack_inference_log_replayed",
                "Records of dead processes' spools merged into the inference table.",
                self.log.replayed,
            ),
            (
                CounterMetricFamily,
                "lakestack_inference_log_rejected",
                "Records that could not be appended, set aside to inference.<endpoint>_rejected.",
                self.log.rejected,
            ),
            (
                CounterMetricFamily,
                "lakestack_inference_log_failures",
                "Failed attempts to append or replay (storage failures), each retried.",
                self.log.failures,
            ),
            (
                GaugeMetricFamily,
                "lakestack_inference_log_replay_pending",
                "1 while dead processes' spools wait to be replayed (a replay that failed).",
                float(self.log.replay_pending),
            ),
        ]
        for family, name, documentation, figure in figures:
            metric = family(name, documentation, labels=labels)
            metric.add_metric(value, figure)
            yield metric
