"""The metric and alert tables a monitor writes are the ones `lakestack.system_tables` declares."""

from __future__ import annotations

import polars as pl
from _monitor_kit import TABLE, MakeProject, at, labels_for, monitor, write_hours

from lakestack.lake import Lake
from lakestack.monitoring import metric_tables, run_monitor
from lakestack.system_tables import (
    ALERTS,
    MONITOR_DRIFT,
    MONITOR_PROFILE,
    MONITOR_QUALITY,
    MONITOR_STATE,
)

LABELS = {"table": "labels.flights", "keys": ["request_id", "row"], "column": "label"}
RULE = {"name": "drift", "when": "drift.psi > 0.2 on any feature", "actions": [{"log": "info"}]}


def test_every_table_a_monitor_writes_matches_its_declaration(make_project: MakeProject) -> None:
    project = make_project({"flights": monitor(labels=LABELS, alerts=[RULE])})
    lake = Lake.for_environment(project, "dev")
    write_hours(lake, [0])
    write_hours(lake, [1], shift=2.0)
    hour0 = lake.read_polars(TABLE).filter(pl.col("request_id").str.starts_with("h0-"))
    lake.append("labels.flights", labels_for(hour0.head(100)))
    result = run_monitor(project, "flights", "dev", now=at(1))
    assert [a.state for a in result.alerts] == ["firing"]
    tables = metric_tables("flights")
    specs = {
        "profile": MONITOR_PROFILE,
        "drift": MONITOR_DRIFT,
        "quality": MONITOR_QUALITY,
        "state": MONITOR_STATE,
    }
    assert set(specs) == set(tables)
    for kind, spec in specs.items():
        assert tables[kind] == spec.table(monitor="flights")
        assert spec.mismatches(lake.schema(tables[kind])) == [], kind
    assert ALERTS.mismatches(lake.schema(ALERTS.name)) == []
