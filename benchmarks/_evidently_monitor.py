"""The Evidently side of `monitor_bench.py`: DataDriftPreset per time window.

Evidently 0.7 does not import with pandas 3, so this runs in its own environment:

    uv run --isolated --no-project --with evidently --with 'pandas<3' --with pyarrow \\
        python benchmarks/_evidently_monitor.py --reference ref.parquet --current cur.parquet \\
        --time ts --window-seconds 3600 --numeric n00,n01 --categorical c0,c1

It prints one JSON object: seconds, peak RSS of this process, windows, drifted columns of the
last window, versions.
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


def drifted_columns(result: dict) -> list[str]:  # type: ignore[type-arg]
    drifted = []
    for metric in result["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith("ValueDrift"):
            if "p_value" in config["method"]:
                hit = metric["value"] < config["threshold"]
            else:
                hit = metric["value"] >= config["threshold"]
            if hit:
                drifted.append(config["column"])
    return sorted(drifted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True)
    parser.add_argument("--current", required=True)
    parser.add_argument("--time", required=True)
    parser.add_argument("--window-seconds", type=int, required=True)
    parser.add_argument("--numeric", required=True, help="comma-separated numeric columns")
    parser.add_argument("--categorical", required=True, help="comma-separated categorical columns")
    args = parser.parse_args()

    reference = pd.read_parquet(args.reference)
    current = pd.read_parquet(args.current)
    columns = args.numeric.split(",") + args.categorical.split(",")
    definition = DataDefinition(
        numerical_columns=args.numeric.split(","),
        categorical_columns=args.categorical.split(","),
    )
    start = time.perf_counter()
    window = current[args.time].astype("int64") // (args.window_seconds * 10**6)
    ref = Dataset.from_pandas(reference[columns], data_definition=definition)
    last: list[str] = []
    windows = 0
    for _, part in current.groupby(window, sort=True):
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(part[columns], data_definition=definition), ref
        )
        last = drifted_columns(snapshot.dict())
        windows += 1
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "windows": windows,
                "drifted_last": last,
                "versions": {p: version(p) for p in ("evidently", "pandas", "numpy", "scipy")},
            }
        )
    )


if __name__ == "__main__":
    main()
