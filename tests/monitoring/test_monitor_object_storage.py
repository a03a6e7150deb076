"""A monitor whose inference table, labels and metric tables are on the S3-compatible test
server: windows, drift, and quality merged again when late labels arrive."""

from __future__ import annotations

import polars as pl
from _monitor_kit import TABLE, MakeProject, at, labels_for, monitor, write_hours

from _kit.clusters import S3Server
from lakestack.lake import Lake
from lakestack.monitoring import metric_tables, run_monitor

LABELS = {"table": "labels.flights", "keys": ["request_id", "row"], "column": "label"}


def test_a_monitor_merges_its_metrics_on_the_object_store(
    make_project: MakeProject, s3_server: S3Server
) -> None:
    project = make_project({"flights": monitor(labels=LABELS)})
    root = f"s3://{s3_server.bucket()}/lake"
    options = s3_server.env
    lake = Lake(
        root,
        environment="dev",
        storage_options={
            "AWS_ENDPOINT_URL": options["LAKESTACK_TEST_S3_ENDPOINT"],
            "AWS_ACCESS_KEY_ID": options["LAKESTACK_TEST_S3_KEY"],
            "AWS_SECRET_ACCESS_KEY": options["LAKESTACK_TEST_S3_SECRET"],
            "AWS_REGION": s3_server.region,
        },
    )
    write_hours(lake, [0, 1, 2])
    first = run_monitor(project, "flights", "dev", now=at(1), lake=lake)
    assert [w.label() for w in first.windows] == ["2026-01-01 00:00", "2026-01-01 01:00"]
    tables = metric_tables("flights")
    assert set(lake.tables("monitoring")) >= {tables["profile"], tables["drift"], tables["state"]}

    hour0 = lake.read_polars(TABLE).filter(pl.col("request_id").str.starts_with("h0-"))
    lake.append("labels.flights", labels_for(hour0.head(100)))
    run_monitor(project, "flights", "dev", now=at(2), lake=lake)
    quality = lake.read_polars(tables["quality"]).sort("window_start")
    assert quality["labeled_rows"].to_list()[0] == 100
    lake.append("labels.flights", labels_for(hour0.tail(300), flip=0.5, seed=1))
    run_monitor(project, "flights", "dev", now=at(2), lake=lake)
    quality = lake.read_polars(tables["quality"]).sort("window_start")
    assert quality["labeled_rows"].to_list()[0] == 400  # merged in place, not appended
    assert quality.height == quality.select("window_start").n_unique()
    assert lake.history(tables["quality"])[0].operation == "MERGE"
    state = lake.read_polars(tables["state"])
    assert sorted(state["rows"].to_list()) == [400, 400, 400]
