"""The Evidently side of `drift_bench.py`: DataDriftPreset on two Parquet files.

Evidently 0.7 does not import with pandas 3, so this runs in its own environment:

    uv run --isolated --no-project --with evidently --with 'pandas<3' --with pyarrow \\
        python benchmarks/_evidently_drift.py --reference ref.parquet --current cur.parquet \\
        --numeric n00,n01 --categorical c0,c1

It prints one JSON object: seconds, peak RSS of this process, drifted columns, versions.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from importlib.metadata import version

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True)
    parser.add_argument("--current", required=True)
    parser.add_argument("--numeric", required=True, help="comma-separated numeric columns")
    parser.add_argument("--categorical", required=True, help="comma-separated categorical columns")
    args = parser.parse_args()

    reference = pd.read_parquet(args.reference)
    current = pd.read_parquet(args.current)
    definition = DataDefinition(
        numerical_columns=args.numeric.split(","),
        categorical_columns=args.categorical.split(","),
    )

    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    result = snapshot.dict()
    seconds = time.perf_counter() - start

    drifted = []
    methods = set()
    for metric in result["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith("ValueDrift"):
            methods.add(config["method"])
            # Tests ("K-S p_value", ...) drift below the threshold, distances above it.
            if "p_value" in config["method"]:
                hit = metric["value"] < config["threshold"]
            else:
                hit = metric["value"] >= config["threshold"]
            if hit:
                drifted.append(config["column"])
    print(
        json.dumps(
            {
                "seconds": seconds,
                # ru_maxrss is in KiB on Linux.
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "drifted": sorted(drifted),
                "methods": sorted(methods),
                "versions": {p: version(p) for p in ("evidently", "pandas", "numpy", "scipy")},
            }
        )
    )


if __name__ == "__main__":
    main()
