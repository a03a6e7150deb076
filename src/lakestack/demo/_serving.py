"""The demo's serving stage: the production endpoint and a month of keys-only traffic.

`lakestack serve flights_delay` starts in its own process on 127.0.0.1. June 2013 is replayed
hour by hour: the online store is published as of the hour (weather) or of the day (delay
aggregates), so that it holds what production's publishing jobs would have held then; then the
hour's flights are sent as keys-only requests (origin, destination, carrier, tail number,
hour, distance and the scheduled departure): the endpoint looks the other features up online,
judged at each flight's departure time. The first week goes one flight per request, several in
flight at a time; the rest one request per hour. Every flight is logged to
`inference.flights_delay`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.table import Table

from lakestack.demo._endpoint import DemoEndpoint
from lakestack.demo._show import console
from lakestack.errors import ServingError

if TYPE_CHECKING:
    import polars as pl

    from lakestack.demo._main import Demo

__all__ = ["stage_serving"]

ENDPOINT = "flights_delay"
# June: the last month before the monitoring stage's replay of July to December.
MONTH = (datetime(2013, 6, 1, tzinfo=UTC), datetime(2013, 7, 1, tzinfo=UTC))
KEYS = ["flight_id", "sched_dep_ts", "origin", "dest", "carrier", "tailnum", "hour", "distance"]
CONCURRENCY = 8
SINGLE_ROW_DAYS = timedelta(days=7)  # then each hour's flights in one request
# How often the online store is refreshed in the replay, as production jobs would: the weather
# feed every hour, the delay aggregates once a day (at midnight UTC).
HOURLY = {"features.weather_hourly": True}


async def _send_hour(
    client: Any, url: str, rows: list[dict[str, Any]], single: bool, latencies: list[float]
) -> list[int]:
    """The hour's flights: one request each, `CONCURRENCY` at a time, or one request for all
    of them; the status of each flight's answer."""
    import orjson

    gate = asyncio.Semaphore(CONCURRENCY)

    async def send(batch: list[dict[str, Any]]) -> list[int]:
        body = orjson.dumps({"dataframe_records": batch})
        async with gate:
            started = time.perf_counter()
            response = await client.post(
                url, content=body, headers={"content-type": "application/json"}
            )
            latencies.append(time.perf_counter() - started)
        return [int(response.status_code)] * len(batch)

    if not single:
        return await send(rows)
    answers = await asyncio.gather(*(send([r]) for r in rows))
    return [status for answer in answers for status in answer]


def _month(demo: Demo) -> pl.DataFrame:
    import polars as pl

    from lakestack.templates.flights.flights_ml import features

    start, end = MONTH
    frame: pl.DataFrame = features.labels(demo.lake).filter(
        pl.col("sched_dep_ts") >= start, pl.col("sched_dep_ts") < end
    )
    return frame.select(
        pl.col("flight_id").cast(pl.String),
        pl.col("sched_dep_ts").dt.strftime("%Y-%m-%dT%H:%M:%S%z"),
        *KEYS[2:],
        hour_start=pl.col("sched_dep_ts").dt.truncate("1h"),
    ).sort("hour_start", "flight_id")


async def _replay(demo: Demo, endpoint: DemoEndpoint, flights: pl.DataFrame) -> dict[str, Any]:
    import httpx

    from lakestack.features import FeatureStore

    store = FeatureStore(demo.project, demo.lake.environment)
    timed = {
        t.name: HOURLY.get(t.name, False) for t in store.list_feature_tables() if t.timestamp_key
    }
    runs: dict[bool, dict[str, Any]] = {
        single: {"statuses": [], "latencies": [], "seconds": 0.0} for single in (True, False)
    }
    publishing = 0.0
    publishes = 0
    published: dict[str, datetime] = {}
    hours = flights.partition_by("hour_start", as_dict=True, maintain_order=True)
    # idle connections are dropped after 2 s, before the server closes them (uvicorn: after
    # 5 s): between hours the replay publishes features, and a request sent on a connection the
    # server is closing at that moment fails with a ReadError
    limits = httpx.Limits(
        max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY, keepalive_expiry=2.0
    )
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        with demo.progress() as bar:
            task = bar.add_task("replaying June 2013", total=flights.height)
            for (hour,), part in hours.items():
                started = time.perf_counter()
                midnight = hour.replace(hour=0)
                for name, hourly in timed.items():  # what the online store held at that hour
                    if hourly or published.get(name) != midnight:
                        store.publish(name, as_of=hour if hourly else midnight)
                        published[name] = midnight
                        publishes += 1
                publishing += time.perf_counter() - started
                single = hour < MONTH[0] + SINGLE_ROW_DAYS
                run = runs[single]
                started = time.perf_counter()
                rows = part.drop("hour_start").to_dicts()
                run["statuses"] += await _send_hour(
                    client, endpoint.url + "/invocations", rows, single, run["latencies"]
                )
                run["seconds"] += time.perf_counter() - started
                bar.advance(task, part.height)
    return {"runs": runs, "publishing": publishing, "publishes": publishes}


def stage_serving(demo: Demo) -> None:
    """Serving: the production endpoint answers June 2013 as keys-only requests."""
    from lakestack.features import FeatureStore
    from lakestack.serving import inference_table

    env = demo.lake.environment
    started = time.perf_counter()
    endpoint = DemoEndpoint(demo.project, ENDPOINT, env).start()
    demo.cleanups.append(endpoint.stop)
    demo.results["endpoint"] = endpoint
    ready = endpoint.ready()
    console.print(
        f"`lakestack serve {ENDPOINT} --env {env}` answers at {endpoint.url} with "
        f"{ready['model']} version {ready['version']} (production), ready in "
        f"{time.perf_counter() - started:.1f} s"
    )
    store = FeatureStore(demo.project, demo.lake.environment)
    for table in store.list_feature_tables():
        if not table.timestamp_key:
            store.publish(table.name)  # static features: the latest rows
    flights = _month(demo)
    replay = asyncio.run(_replay(demo, endpoint, flights))
    runs = replay["runs"]
    sent = sum(len(r["statuses"]) for r in runs.values())
    waited = endpoint.wait_logged(demo.lake, sent)
    logged = demo.lake.info(inference_table(ENDPOINT)).rows
    view = Table(title=f"June 2013: {sent:,} flights as keys-only requests")
    for column in ("requests", "flights", "answered 200", "flights/s", "p50 ms", "p99 ms"):
        view.add_column(column, justify="right")
    for single, label in ((True, "one flight each"), (False, "one per hour")):
        run = runs[single]
        statuses = np.asarray(run["statuses"])
        latencies = np.asarray(run["latencies"]) * 1000.0
        view.add_row(
            f"{len(latencies):,} ({label})",
            f"{len(statuses):,}",
            f"{int((statuses == 200).sum()):,}",
            f"{len(statuses) / max(run['seconds'], 1e-9):,.0f}",
            *(f"{np.percentile(latencies, q):.1f}" for q in (50, 99)),
        )
    console.print(view)
    console.print(
        f"single flights: {CONCURRENCY} requests in flight at a time for the first "
        f"{SINGLE_ROW_DAYS.days} days, then each hour's flights in one request. The online "
        f"store was published as of each replayed hour (weather) or day (delay aggregates): "
        f"{replay['publishes']} incremental publishes, {replay['publishing']:.1f} s in all. "
        f"`{inference_table(ENDPOINT)}` holds {logged:,} rows for the {sent:,} flights sent "
        f"(the last appended {waited:.1f} s after their answers, off the request path)."
    )
    if logged != sent:
        raise ServingError(
            f"{inference_table(ENDPOINT)} has {logged} rows for the {sent} flights sent; "
            f"see the endpoint's log {endpoint.log_file}"
        )
    failed = sum(int((np.asarray(r["statuses"]) != 200).sum()) for r in runs.values())
    if failed:
        raise ServingError(f"{failed} flights were not answered 200; see {endpoint.log_file}")
    demo.results["requests served"] = sent
