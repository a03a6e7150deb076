"""Hypothesis settings of the schemathesis fuzzers, which call a live API."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

__all__ = ["fuzz_settings"]


def fuzz_settings(max_examples: int) -> settings:
    """The same examples on every run and none stored (`derandomize`, no database); no
    deadline, since a call's time is the server's; no shrinking, which would call the API
    again and again; no health check, which counts a slow server against the strategy."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
