"""Streaming scoring: `ScoreStream`, `lakestack score --follow` and the `score_new_rows` task."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _serving_kit import FEATURES, Served, frame

from lakestack.errors import ServingError
from lakestack.lake import Lake
from lakestack.pipelines import Scheduler
from lakestack.serving import ScoreStream


def rows(start: int, n: int, seed: int = 0) -> pd.DataFrame:
    """`n` rows of the model's features with ids `start`, `start + 1`, ..."""
    return frame(n, seed=seed).assign(id=np.arange(start, start + n))


def append_versions(lake: Lake, first_id: int, sizes: list[int]) -> dict[int, int]:
    """Append one version per size; the source version of each id appended."""
    added = {}
    for i, n in enumerate(sizes):
        version = lake.append("silver.rows", rows(first_id, n, seed=first_id + i))
        added.update(dict.fromkeys(range(first_id, first_id + n), version))
        first_id += n
    return added


def output(lake: Lake, table: str = "gold.scores") -> pd.DataFrame:
    return lake.read(table).to_pandas().sort_values("id").reset_index(drop=True)


def test_each_version_is_scored_once_with_its_source_and_model_versions(served: Served) -> None:
    version = served.log_sklearn()
    lake = Lake.for_environment(served.project, "prod")
    added = append_versions(lake, 0, [30, 20, 10])
    with ScoreStream(
        served.project, "tiny@production", "silver.rows", "gold.scores", "prod", since=-1
    ) as stream:
        assert stream.scored_version() is None
        first = stream.step()
        assert [(c.first_version, c.last_version, c.rows) for c in first] == [(0, 2, 60)]
        assert stream.step() == []  # nothing new: no commit
        lake.optimize("silver.rows")  # moves rows into one file: nothing to score
        added |= append_versions(lake, 60, [5, 7])
        second = stream.step()
        assert sum(c.rows for c in second) == 12 and stream.step() == []
        assert stream.scored_version() == lake.version("silver.rows")
    out = output(lake)
    assert list(out["id"]) == list(range(72))  # every row once
    assert dict(zip(out["id"], out["source_version"], strict=True)) == added
    assert set(out["model_version"]) == {version} and set(out["source_table"]) == {"silver.rows"}
    want = served.registry.load_model("tiny", version).predict(out[FEATURES])[:, 1]
    assert np.allclose(out["prediction"], want)
    assert out.groupby("score_id")["source_version"].max().sort_values().tolist() == [2, 5]


def test_the_first_step_scores_the_table_as_it_is_and_commits_are_bounded(
    served: Served,
) -> None:
    served.log_sklearn()
    lake = Lake.for_environment(served.project, "prod")
    append_versions(lake, 0, [10, 10])
    with ScoreStream(
        served.project, "tiny@1", "silver.rows", "gold.scores", "prod", write_rows=15
    ) as stream:
        assert [(c.first_version, c.last_version, c.rows) for c in stream.step()] == [(1, 1, 20)]
        append_versions(lake, 20, [10, 10, 10])
        # 15 rows a commit at most, a version never split: one commit per version here
        assert [(c.last_version, c.rows) for c in stream.step()] == [(2, 10), (3, 10), (4, 10)]
    out = output(lake)
    assert list(out["id"]) == list(range(50))
    assert list(out["source_version"][:20]) == [1] * 20  # the snapshot: read at version 1


def test_a_new_production_version_scores_the_rows_that_land_after_it(served: Served) -> None:
    one = served.log_sklearn(seed=0)
    lake = Lake.for_environment(served.project, "prod")
    append_versions(lake, 0, [40])
    with ScoreStream(
        served.project, "tiny@production", "silver.rows", "gold.scores", "prod"
    ) as stream:
        stream.step()
        two = served.log_sklearn(seed=1)  # promoted to production
        append_versions(lake, 40, [25])
        assert [c.model_version for c in stream.step()] == [two]
    out = output(lake)
    assert out.groupby("model_version")["id"].agg(["min", "max", "count"]).to_dict("index") == {
        one: {"min": 0, "max": 39, "count": 40},
        two: {"min": 40, "max": 64, "count": 25},
    }
    new = out[out["model_version"] == two]
    want = served.registry.load_model("tiny", two).predict(new[FEATURES])[:, 1]
    assert np.allclose(new["prediction"], want)


def test_a_version_that_rewrote_rows_stops_the_stream_with_a_way_past_it(served: Served) -> None:
    served.log_sklearn()
    lake = Lake.for_environment(served.project, "prod")
    append_versions(lake, 0, [10])
    stream = ScoreStream(served.project, "tiny@1", "silver.rows", "gold.scores", "prod")
    stream.step()
    append_versions(lake, 10, [5])  # version 1: scored before the stream stops
    deleted = lake.delete("silver.rows", "id < 3")  # version 2
    append_versions(lake, 15, [4])  # version 3
    with pytest.raises(ServingError, match=f"version {deleted} of silver.rows is a DELETE") as e:
        stream.step()
    assert f"--since {deleted}" in str(e.value)
    assert stream.scored_version() == 1 and len(output(lake)) == 15
    with pytest.raises(ServingError, match="is a DELETE"):  # it stays stopped
        ScoreStream(served.project, "tiny@1", "silver.rows", "gold.scores", "prod").step()
    past = ScoreStream(
        served.project, "tiny@1", "silver.rows", "gold.scores", "prod", since=deleted
    )
    assert [(c.first_version, c.rows) for c in past.step()] == [(3, 4)]
    assert list(output(lake)["id"]) == list(range(19))
    with pytest.raises(ServingError, match="not a pinned version"):
        ScoreStream(served.project, "tiny@1", "silver.rows@2", "gold.scores", "prod")


def test_the_source_must_hold_the_model_inputs(served: Served) -> None:
    served.log_sklearn()
    lake = Lake.for_environment(served.project, "prod")
    lake.append("silver.other", {"id": [1], "x1": [0.5]})
    with (
        ScoreStream(served.project, "tiny@1", "silver.other", "gold.o", "prod") as other,
        pytest.raises(ServingError, match="lacks the input column"),
    ):
        other.step()


# -- the follower process: kill -9, restart, SIGTERM -----------------------------------------


def follower(served: Served, *extra: str) -> subprocess.Popen[str]:
    args = ["score", "--follow", "-m", "tiny@production", "-t", "silver.rows", "-o"]
    args += ["gold.scores", "--env", "prod", "--project", str(served.root), "--poll", "0.1"]
    return subprocess.Popen(
        [sys.executable, "-m", "lakestack", *args, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


def wait_for(condition: object, what: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 180
    while not condition():  # type: ignore[operator]
        if process.poll() is not None:
            raise AssertionError(f"the follower exited ({what}): {process.communicate()}")
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.05)


def test_a_follower_killed_and_restarted_scores_every_row_exactly_once(
    served: Served, tmp_path: Path
) -> None:
    version = served.log_sklearn()
    lake = Lake.for_environment(served.project, "prod")
    append_versions(lake, 0, [50])
    stream = ScoreStream(served.project, "tiny@production", "silver.rows", "gold.scores", "prod")
    first = follower(served, "--write-rows", "20")
    try:
        wait_for(lambda: stream.scored_version() == 0, "the first version", first)
        added = append_versions(lake, 50, [20] * 15)  # 15 versions, a commit each
        wait_for(lambda: (stream.scored_version() or 0) >= 3, "a few commits", first)
    finally:
        first.kill()  # SIGKILL, wherever it is: between commits or in the middle of one
        first.wait()
    killed_at = stream.scored_version()
    append_versions(lake, 350, [20, 20])
    latest = lake.version("silver.rows")
    second = follower(served, "--write-rows", "20")
    try:
        wait_for(lambda: stream.scored_version() == latest, "the last version", second)
    finally:
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert f"stopped; scored up to version {latest}" in err
    assert "scored 20 rows of silver.rows@" in out
    scores = output(lake)
    assert list(scores["id"]) == list(range(390)), (killed_at, latest)  # no row twice, none lost
    assert set(scores["model_version"]) == {version}
    assert all(scores.set_index("id")["source_version"][i] == v for i, v in added.items())


# -- the pipeline task on a table-update trigger ---------------------------------------------


def test_a_job_on_a_table_update_scores_the_rows_that_landed(served: Served) -> None:
    served.log_sklearn()
    params = {"model": "tiny@production", "table": "silver.rows", "output": "gold.scores"}
    jobs = {
        "stream_scoring": {
            "triggers": [{"on_table_update": "silver.rows"}],
            "tasks": [
                {"name": "score", "run": "lakestack.serving:score_new_rows", "params": params}
            ],
        },
        "broken": {"tasks": [{"name": "score", "run": "lakestack.serving:score_new_rows"}]},
    }
    project = served.configure(jobs=jobs)
    lake = Lake.for_environment(project, "prod")
    append_versions(lake, 0, [30])
    scheduler = Scheduler(project, "prod", background=False)
    assert scheduler.tick() == []  # notes version 0: not a new version
    append_versions(lake, 30, [10])
    assert [x.job for x in scheduler.tick()] == ["stream_scoring"]
    append_versions(lake, 40, [5, 6])
    assert [x.reason for x in scheduler.tick()] == ["table silver.rows updated to version 3"]
    assert scheduler.tick() == []  # its own writes go to gold.scores: nothing new
    results = scheduler.results
    assert all(r.ok for r in results), [r.run.error for r in results]
    assert [r.output("score")["rows"] for r in results] == [40, 11]  # the table, then the news
    assert [r.output("score")["scored_version"] for r in results] == [1, 3]
    assert list(output(lake)["id"]) == list(range(51))
    from lakestack.pipelines import run_job

    broken = run_job(project, "broken", env="prod")
    assert not broken.ok and "needs the param(s) model, table, output" in str(broken.tasks)
