"""The infrastructure gate judges the CPU time a request costs, not how busy the machine is.

The models here cost a known amount per request: one sleeps (wall-clock time, almost no CPU),
one burns its own thread's CPU clock (CPU time, whatever the machine does meanwhile).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from _registry_kit import FEATURES, Kit, make_frame

from lakestack.errors import ConfigError
from lakestack.registry import ModelVersionInfo


def _costly_model(kind: str, ms: float) -> Any:
    """A model that, per request, sleeps `ms` (kind `sleeps`) or burns `ms` of its thread's CPU
    time (kind `burns`); defined here so that cloudpickle stores it by value."""
    import mlflow.pyfunc

    class Costly(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            import time  # no type hints: MLflow would read them as an input schema

            if kind == "sleeps":
                time.sleep(ms / 1000)
            else:
                end = time.thread_time() + ms / 1000
                while time.thread_time() < end:
                    pass
            return np.zeros(len(model_input))

    return Costly()


def _log(kit: Kit, kind: str, ms: float) -> ModelVersionInfo:
    from mlflow.models import infer_signature

    x = make_frame(20, 7).select(FEATURES).to_pandas()
    return kit.registry.log_model(
        _costly_model(kind, ms),
        kit.model,
        signature=infer_signature(x, np.zeros(len(x))),
        input_example=x.head(3),
        flavor="pyfunc",
        problem="regression",
    )


def _gate(kit: Kit, version: int, **infrastructure: Any) -> Any:
    kit.configure({"infrastructure": {"warmup": 1, **infrastructure}}, problem="regression")
    report = kit.registry.evaluate_gates(kit.model, version, stage="production")
    return report.results[0]


def test_a_model_that_waits_passes_and_one_that_computes_fails_the_same_budget(
    sqlite_kit: Kit,
) -> None:
    sleeps = _log(sqlite_kit, "sleeps", 60)
    burns = _log(sqlite_kit, "burns", 60)
    waiting = _gate(sqlite_kit, sleeps.version, cpu_ms=30, requests=5)
    assert waiting.passed, waiting.message
    assert waiting.numbers["cpu_p95_ms"] < 30 <= 60 <= waiting.numbers["wall_p50_ms"]
    assert "within the 30 ms CPU budget" in waiting.message
    assert f"wall clock: p50 {waiting.numbers['wall_p50_ms']:.2f} ms" in waiting.message

    computing = _gate(sqlite_kit, burns.version, cpu_ms=30, requests=5)
    assert not computing.passed
    assert computing.numbers["cpu_p95_ms"] >= 60 and computing.numbers["cpu_clock"] == "thread"
    assert "over the 30 ms CPU budget" in computing.message
    assert computing.numbers["cpu_budget_ms"] == 30


@contextlib.contextmanager
def _sharing_one_core(burners: int) -> Iterator[None]:
    """This process, the processes it starts, and `burners` processes that spin forever, all on
    one core: each gets a fraction of it, as on a CI runner other jobs keep busy."""
    saved = os.sched_getaffinity(0)
    core = min(saved)
    os.sched_setaffinity(0, {core})
    spinning = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(burners)
    ]
    try:
        yield
    finally:
        for process in spinning:
            process.kill()
            process.wait()
        os.sched_setaffinity(0, saved)


@pytest.mark.timeout(900)  # the fresh process imports MLflow on a third of a core
def test_a_busy_machine_does_not_refuse_a_sound_model(sqlite_kit: Kit) -> None:
    info = _log(sqlite_kit, "burns", 10)
    with _sharing_one_core(burners=2):
        result = _gate(sqlite_kit, info.version, cpu_ms=25, requests=20)
    assert result.passed, result.message
    assert 10 <= result.numbers["cpu_p95_ms"] <= 25
    # the machine was busy: judged on the wall clock, as before, this model was refused
    assert result.numbers["wall_p95_ms"] > 25, result.numbers


def test_the_old_latency_budget_is_refused_with_its_new_name(sqlite_kit: Kit) -> None:
    with pytest.raises(ConfigError) as caught:
        sqlite_kit.configure({"infrastructure": {"latency_ms": 250}})
    message = str(caught.value)
    assert f"models.{sqlite_kit.model}.gates.infrastructure" in message
    assert "latency_ms is now cpu_ms" in message and "(cpu_ms: 250)" in message
