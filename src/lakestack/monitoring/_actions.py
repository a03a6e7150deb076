"""Alert actions behind a small protocol, registered by name: `log`, `webhook`, `retrain`."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import orjson

from lakestack.errors import MonitoringError

if TYPE_CHECKING:
    from lakestack.config import AlertActionConfig, Project

__all__ = [
    "SINKS",
    "Alert",
    "AlertSink",
    "RetrainFailedError",
    "register_sink",
    "run_action",
    "send_webhook",
]

log = logging.getLogger("lakestack.monitoring")


@dataclass(frozen=True)
class Alert:
    """An alert of a rule, as recorded in `monitoring.alerts` and sent to actions."""

    alert_id: str
    monitor: str
    rule: str
    condition: str
    state: str  # "firing" or "resolved"
    message: str
    value: float | None
    window_start: datetime | None
    fired_at: datetime
    resolved_at: datetime | None
    environment: str

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))


class RetrainFailedError(MonitoringError):
    """A `retrain` action that could not queue its job or event."""


class AlertSink(Protocol):
    """Delivers an alert; returns a one-line outcome, never raises for a delivery failure."""

    def __call__(
        self, alert: Alert, action: AlertActionConfig, project: Project
    ) -> str: ...  # pragma: no cover


def _log(alert: Alert, action: AlertActionConfig, project: Project) -> str:
    level = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}[
        action.log or "warning"
    ]
    log.log(level, "alert %s %s/%s: %s", alert.state, alert.monitor, alert.rule, alert.message)
    return f"log: {action.log}"


def send_webhook(url: str, body: bytes, *, timeout_s: float, retries: int, backoff_s: float) -> str:
    """POST `body` as JSON; retry failures (connection errors, timeouts, 5xx, 429) with backoff.

    Returns:
        The outcome: `webhook: 200 after 3 attempt(s)` or `webhook failed: ...`.
    """
    error = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff_s * 2 ** (attempt - 1))
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return f"webhook: {response.status} after {attempt + 1} attempt(s)"
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}"
            if exc.code < 500 and exc.code != 429:
                break  # a client error will not heal by retrying
        except (OSError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
    message = f"webhook failed after {attempt + 1} attempt(s): {error}"
    log.error("%s (%s)", message, url)
    return message


def _webhook(alert: Alert, action: AlertActionConfig, project: Project) -> str:
    assert action.webhook is not None
    return send_webhook(
        action.webhook,
        alert.to_json(),
        timeout_s=action.timeout_s,
        retries=action.retries,
        backoff_s=action.backoff_s,
    )


def _retrain(alert: Alert, action: AlertActionConfig, project: Project) -> str:
    from lakestack.errors import PipelineError
    from lakestack.pipelines import trigger

    if alert.state != "firing":
        return "retrain: nothing to do on resolve"
    assert action.retrain is not None
    reason = f"alert {alert.monitor}/{alert.rule}: {alert.message}"
    try:
        jobs = trigger(project, action.retrain, reason[:500], env=alert.environment)
    except PipelineError as exc:
        log.error("retrain action of %s/%s failed: %s", alert.monitor, alert.rule, exc)
        raise RetrainFailedError(f"its retrain action queued nothing: {exc}") from exc
    return f"retrain: queued {', '.join(jobs)}"


SINKS: dict[str, AlertSink] = {"log": _log, "webhook": _webhook, "retrain": _retrain}


def register_sink(name: str, sink: AlertSink) -> None:
    """Register (or replace) the sink of an action kind."""
    SINKS[name] = sink


def run_action(alert: Alert, action: AlertActionConfig, project: Project) -> str:
    """Run one action of an alert and return its outcome.

    A log or webhook that fails is logged and reported in the outcome; it does not stop the
    monitor.

    Raises:
        RetrainFailedError: a `retrain` action could not queue its job (that is never silent).
    """
    from lakestack.access import authorize
    from lakestack.errors import AccessError

    kind = next(k for k in ("log", "webhook", "retrain") if getattr(action, k) is not None)
    try:
        obj = f"{kind} of {alert.monitor}/{alert.rule} ({alert.state})"
        authorize(project, "alert.action", alert.environment, obj=obj)
        return SINKS[kind](alert, action, project)
    except RetrainFailedError:
        raise
    except AccessError as exc:  # refused and audited; a refused retrain is never silent either
        log.error("alert action %s of %s/%s refused: %s", kind, alert.monitor, alert.rule, exc)
        if kind == "retrain" and alert.state == "firing":
            raise RetrainFailedError(f"its retrain action was refused: {exc}") from exc
        return f"{kind} refused: {exc}"
    except Exception as exc:  # a notification's failure must not stop the monitor
        log.exception("alert action %s of %s/%s failed", kind, alert.monitor, alert.rule)
        return f"{kind} failed: {exc}"


def outcomes_json(outcomes: list[str]) -> str:
    return orjson.dumps(outcomes).decode()
