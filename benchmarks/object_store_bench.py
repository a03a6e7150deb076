"""Lake throughput on an S3-compatible server against local disk, side by side in one run.

The server is moto in server mode on 127.0.0.1 (started and stopped here), so the figures
measure lakestack and deltalake over the S3 protocol on this machine, not a cloud network.
Appends: `Lake.append` of batches of rows (one Delta commit each); read: `Lake.read` of the
whole table (best of 3), and time travel to its first version.

Run: `.venv/bin/python benchmarks/object_store_bench.py` (`--batches 10` for a quick look).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import polars as pl

from lakestack.lake import Lake
from lakestack.serving import ServerProcess, free_port

try:
    from _results import write_section
except ImportError:  # run from another folder
    sys.path.insert(0, str(Path(__file__).parent))
    from _results import write_section


def batch(rows: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "id": np.arange(rows) + seed * rows,
            "x": rng.normal(size=rows),
            "y": rng.normal(size=rows),
            "c": rng.choice(["a", "b", "c"], rows),
        }
    )


def measure(lake: Lake, batches: int, rows: int) -> dict[str, float]:
    started = time.perf_counter()
    for i in range(batches):
        lake.append("bronze.events", batch(rows, i))
    appended = time.perf_counter() - started
    reads = []
    for _ in range(3):  # the first read also pays for one-time set-up: best of 3
        started = time.perf_counter()
        table = lake.read("bronze.events")
        reads.append(time.perf_counter() - started)
    read = min(reads)
    assert table.num_rows == batches * rows
    started = time.perf_counter()
    first = lake.read("bronze.events@0")
    travel = time.perf_counter() - started
    assert first.num_rows == rows
    return {
        "append_rows_s": batches * rows / appended,
        "commits_s": batches / appended,
        "read_rows_s": table.num_rows / read,
        "travel_s": travel,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--no-write", action="store_true", help="Do not update RESULTS.md.")
    args = parser.parse_args()
    port = free_port()
    server = ServerProcess(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        port,
        Path(tempfile.mkdtemp(prefix="moto-")) / "moto.log",
        ready_path=None,
        name="moto server",
        own_group=True,
    )
    with server.start(timeout=60):
        import boto3

        endpoint = server.url
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        keys = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench-secret"}
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys).create_bucket(
            Bucket=bucket
        )
        options = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench-secret",
            "AWS_REGION": "us-east-1",
        }
        local = measure(Lake(tempfile.mkdtemp(prefix="lake-bench-")), args.batches, args.rows)
        s3 = measure(Lake(f"s3://{bucket}/lake", storage_options=options), args.batches, args.rows)
    for name, figures in (("local disk", local), ("S3 (moto)", s3)):
        print(f"{name:>11}: " + ", ".join(f"{k} {v:,.2f}" for k, v in figures.items()))
    command = ".venv/bin/python benchmarks/object_store_bench.py"
    if (args.batches, args.rows) != (40, 50_000):
        command += f" --batches {args.batches} --rows {args.rows}"
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())

    def row(name: str, f: dict[str, float]) -> str:
        return (
            f"| {name} | {f['append_rows_s']:,.0f} | {f['commits_s']:.2f} | "
            f"{f['read_rows_s']:,.0f} | {f['travel_s'] * 1000:.0f} |"
        )

    body = f"""## Lake on an S3-compatible server against local disk

{args.batches} appends of {args.rows:,} rows (4 columns), one commit each, then a read of the
{args.batches * args.rows:,} rows (best of 3) and a time travel to version 0; the same `Lake` code on a
local folder and on `s3://` served by moto on 127.0.0.1 (conditional-put commits).

| lake | append rows/s | commits/s | read rows/s | time travel (ms) |
|---|---:|---:|---:|---:|
{row("local disk", local)}
{row("S3 (moto, 127.0.0.1)", s3)}

Ratios S3/local: appends {s3["append_rows_s"] / local["append_rows_s"]:.2f}, reads
{s3["read_rows_s"] / local["read_rows_s"]:.2f}. moto keeps objects in a Python process, so the
S3 figures bound the protocol's overhead here rather than a cloud store's. Command:
`{command}`. Load average at the end (1/5/15 min): {load}.
"""
    if not args.no_write:
        write_section("object_store_bench", body)


if __name__ == "__main__":
    main()
