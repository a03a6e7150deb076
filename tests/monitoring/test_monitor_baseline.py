"""The default baseline: the data schema stored with the production model version."""

from __future__ import annotations

import polars as pl
import pytest
import yaml
from _monitor_kit import TABLE, at, batch, write_hours

from _kit.models import log_fitted
from lakestack.config import Project, load_project
from lakestack.errors import MonitoringError
from lakestack.lake import Lake
from lakestack.monitoring import metric_tables, run_monitor
from lakestack.registry import Lineage
from lakestack.validation import infer_schema


def test_drift_is_measured_against_the_production_versions_statistics(
    project: Project,
) -> None:
    from sklearn.linear_model import LogisticRegression

    from lakestack.registry import ModelRegistry

    doc = yaml.safe_load((project.root / "lakestack.yaml").read_text()) or {}
    doc["models"] = {"flights": {"label": "y"}}
    doc["monitors"] = {"flights": {"table": TABLE, "model": "flights", "window": "1h"}}
    (project.root / "lakestack.yaml").write_text(yaml.safe_dump(doc))
    project = load_project(project.root)
    lake = Lake.for_environment(project, "dev")
    write_hours(lake, [0])
    with pytest.raises(
        MonitoringError, match="baseline of model .flights. comes from its production version"
    ):
        run_monitor(project, "flights", "dev", now=at(0))
    train = batch(0, 1000, seed=5)
    x = train.select("x").to_pandas()
    y = (train["prediction"] > 0.5).cast(pl.Int64).to_numpy()
    model = LogisticRegression().fit(x, y)
    registry = ModelRegistry(project, "dev")
    schema = infer_schema(train.select("x", "c"))
    info = log_fitted(
        registry, model, "flights", x, example=False, lineage=Lineage(data_schema=schema)
    )
    registry.promote("flights", info.version, to="production", force=True, reason="test")
    result = run_monitor(project, "flights", "dev", now=at(0))
    assert len(result.windows) == 1
    drift = lake.read_polars(metric_tables("flights")["drift"])
    assert sorted(drift["column"]) == ["c", "x"]
