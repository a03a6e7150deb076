"""Monitor passes: complete windows only, once each, profile and drift rows."""

from __future__ import annotations

import polars as pl
import pytest
from _monitor_kit import TABLE, MakeProject, at, monitor, write_hours

from lakestack.errors import MonitoringError
from lakestack.lake import Lake
from lakestack.monitoring import metric_tables, parse_window, run_monitor


def test_windows_are_processed_once_and_incrementally(make_project: MakeProject) -> None:
    project = make_project({"flights": monitor(slices=["c"])})
    lake = Lake.for_environment(project, "dev")
    write_hours(lake, [0, 1, 2])
    first = run_monitor(project, "flights", "dev", now=at(1))  # hour 2 is still open
    assert [w.label() for w in first.windows] == ["2026-01-01 00:00", "2026-01-01 01:00"]
    tables = metric_tables("flights")
    versions = {k: lake.version(t) for k, t in tables.items() if lake.exists(t)}
    again = run_monitor(project, "flights", "dev", now=at(1))
    assert again.windows == () and again.profile_rows == 0 and again.drift_rows == 0
    assert {k: lake.version(t) for k, t in tables.items() if lake.exists(t)} == versions
    later = run_monitor(project, "flights", "dev", now=at(2))
    assert [w.label() for w in later.windows] == ["2026-01-01 02:00"]
    profile = lake.read_polars(tables["profile"])
    assert profile.select("window_start").n_unique() == 3
    assert profile.group_by("window_start", "slice", "column").len()["len"].max() == 1
    x = profile.filter((pl.col("slice") == "all") & (pl.col("column") == "x")).sort("window_start")
    assert x["count"].to_list() == [400, 400, 400]
    assert x["nulls"].to_list() == [0, 0, 0]
    assert all(abs(m) < 0.2 for m in x["mean"]) and (x["p05"] < x["p50"]).all()
    c = profile.filter((pl.col("slice") == "all") & (pl.col("column") == "c"))
    assert '"a":' in c["frequencies"][0]
    assert set(profile["slice"]) == {"all", "c=a", "c=b", "c=c"}
    drift = lake.read_polars(tables["drift"])
    # window 0 has no previous window; windows 1 and 2 compare to the previous one too
    assert drift.group_by("reference").len().sort("reference").rows() == [
        ("baseline", 6),
        ("previous", 4),
    ]
    assert set(drift["method"]) <= {"ks", "chi_square", "psi", "jensen_shannon"}
    assert (drift.filter(pl.col("reference") == "baseline")["psi"] < 0.2).all()
    state = lake.read_polars(tables["state"])
    assert state["rows"].to_list() == [400, 400, 400]


def test_drifted_windows_are_measured_against_baseline_and_previous(
    make_project: MakeProject,
) -> None:
    project = make_project({"flights": monitor()})
    lake = Lake.for_environment(project, "dev")
    write_hours(lake, [0])
    write_hours(lake, [1], shift=2.0)
    run_monitor(project, "flights", "dev", now=at(1))
    drift = lake.read_polars(metric_tables("flights")["drift"])
    hour1 = drift.filter(pl.col("window_start") == drift["window_start"].max())
    for reference in ("baseline", "previous"):
        rows = hour1.filter(pl.col("reference") == reference)
        assert rows["drifted"].all(), rows
        assert (rows["psi"] > 0.2).all()
    assert hour1.filter(pl.col("column") == "x")["ks_p_value"].max() < 0.01


def test_errors_name_the_monitor_and_the_fix(make_project: MakeProject) -> None:
    project = make_project({"flights": monitor()})
    with pytest.raises(MonitoringError, match="no monitor 'nope'.*flights"):
        run_monitor(project, "nope", "dev")
    with pytest.raises(MonitoringError, match=f"{TABLE} does not exist"):
        run_monitor(project, "flights", "dev")
    with pytest.raises(MonitoringError, match="not `<n>s"):
        parse_window("1y")
    assert parse_window("15m").total_seconds() == 900
