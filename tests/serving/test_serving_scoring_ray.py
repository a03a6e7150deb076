"""Batch scoring on a Ray cluster started by the tests (`ray start --head` on 127.0.0.1): the
environment's `engine: ray://127.0.0.1:<port>` from lakestack.yaml, the same rows as locally."""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml
from _serving_kit import Served, frame

from _kit.clusters import RayCluster
from lakestack.config import load_project
from lakestack.lake import Lake
from lakestack.serving import score_table


def test_the_ray_cluster_of_the_environment_scores_the_same_rows_as_local(
    served: Served, ray_cluster: RayCluster
) -> None:
    version = served.log_sklearn()
    lake = Lake.for_environment(served.project, "prod")
    lake.append("silver.rows", frame(3000, seed=3).assign(id=np.arange(3000)))
    on_local = score_table(
        served.project, "tiny@production", "silver.rows", "gold.local", "prod", batch_rows=200
    )
    doc = yaml.safe_load((served.root / "lakestack.yaml").read_text())
    doc["environments"]["prod"]["engine"] = ray_cluster.address
    (served.root / "lakestack.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    on_ray = score_table(
        load_project(served.root),
        "tiny@production",
        "silver.rows",
        "gold.ray",
        "prod",
        batch_rows=200,
        write_rows=1000,
    )
    assert (on_local.engine, on_ray.engine) == ("local", ray_cluster.address)
    assert on_ray.workers == 2 and on_ray.rows == 3000 and on_ray.model_version == version
    # appends of 1,000, 1,000 and 800 rows, then the last 200 (kept small), in source order
    assert on_ray.output_version == 3
    assert sorted(lake.read("gold.ray@0").to_pandas()["id"]) == list(range(1000))

    def rows(table: str) -> pd.DataFrame:
        out = lake.read(table).to_pandas().sort_values("id").reset_index(drop=True)
        return out.drop(columns=["score_id", "scored_at"])

    pd.testing.assert_frame_equal(rows("gold.local"), rows("gold.ray"), check_exact=False)
