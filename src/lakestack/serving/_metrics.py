"""Prometheus metrics of an endpoint, in a registry of its own (one per app).

The per-request figures (requests, latency, errors, rows, predictions) are plain counts that
the request path adds to without a lock, and that become Prometheus metric families only when
`/metrics` is scraped (`_Tally`): prometheus_client's `Counter.inc` and `Histogram.observe`
each take a lock, and were about 7% of the event loop's time per single-row request.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from lakestack.serving._inference_log import InferenceLog

__all__ = ["EndpointMetrics"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_PREDICTION_BUCKETS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 10.0, 100.0)


class _Histogram:
    """Counts by bucket (the first bound at or above the value; the last is +Inf) and a sum."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def family(self, name: str, documentation: str, endpoint: str) -> Metric:
        family = HistogramMetricFamily(name, documentation, labels=["endpoint"])
        total, buckets = 0, []
        for bound, count in zip([*map(_le, self.bounds), "+Inf"], self.counts, strict=True):
            total += count
            buckets.append((bound, float(total)))
        family.add_metric([endpoint], buckets, self.sum)
        return family


def _le(bound: float) -> str:
    return repr(float(bound))


class _Tally(Collector):
    """An endpoint's per-request figures, counted by the event loop's thread (the one thread
    that answers requests) and exported when Prometheus scrapes."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.requests: dict[int, int] = {}
        self.errors: dict[str, int] = {}
        self.rows: dict[str, int] = {}
        self.latency = _Histogram(_LATENCY_BUCKETS)
        self.prediction = _Histogram(_PREDICTION_BUCKETS)

    def collect(self) -> Iterator[Metric]:
        counters: list[tuple[str, str, str, dict[Any, int]]] = [
            (
                "lakestack_requests",
                "Scoring requests answered, by HTTP status.",
                "status",
                self.requests,
            ),
            (
                "lakestack_request_errors",
                "Refused or failed requests, by kind (malformed, type, missing_column, model, ...).",
                "kind",
                self.errors,
            ),
            ("lakestack_predictions", "Rows scored.", "variant", self.rows),
        ]
        for name, documentation, label, counts in counters:
            family = CounterMetricFamily(name, documentation, labels=["endpoint", label])
            for key, count in list(counts.items()):
                family.add_metric([self.endpoint, str(key)], count)
            yield family
        yield self.latency.family(
            "lakestack_request_latency_seconds", "Time to answer a scoring request.", self.endpoint
        )
        yield self.prediction.family(
            "lakestack_prediction_value",
            "Distribution of numeric predictions (the positive class for probabilities).",
            self.endpoint,
        )


class EndpointMetrics:
    """Requests, latency, errors by kind, prediction distribution and the model version."""

    def __init__(self, endpoint: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._endpoint = endpoint
        self._tally = _Tally(endpoint)
        self.registry.register(self._tally)
        self.model_version = Gauge(
            "lakestack_model_version",
            "The model version served, by variant (production, canary, shadow).",
            ["endpoint", "model", "variant"],
            registry=self.registry,
        )

    def observe(self, status: int, seconds: float, kind: str | None = None) -> None:
        tally = self._tally
        tally.requests[status] = tally.requests.get(status, 0) + 1
        tally.latency.observe(seconds)
        if kind is not None:
            tally.errors[kind] = tally.errors.get(kind, 0) + 1

    def predictions(self, values: list[Any], variant: str = "production") -> None:
        tally = self._tally
        tally.rows[variant] = tally.rows.get(variant, 0) + len(values)
        for value in values[:100] if len(values) > 100 else values:  # a sample is enough
            if type(value) is float:
                tally.prediction.observe(value)
                continue
            if isinstance(value, list) and value:
                value = value[-1]
            if isinstance(value, int | float) and not isinstance(value, bool):
                tally.prediction.observe(float(value))

    def set_version(self, model: str, version: int | None, variant: str = "production") -> None:
        self.model_version.labels(self._endpoint, model, variant).set(
            -1 if version is None else version
        )

    def watch(self, inference_log: InferenceLog) -> None:
        """Export the state of an inference log with every scrape."""
        self.registry.register(_LogCollector(self._endpoint, inference_log))

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
