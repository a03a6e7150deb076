"""One production-shaped environment: the flights example on a small slice, with prod's lake on
the S3-compatible server, tracking on the MLflow server (PostgreSQL, artifacts on S3), online
features in Redis and every task on the Ray cluster, all started by the tests. The loop ends
with a retrained model promoted to production by its gates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import yaml

from _kit import local_environment
from _kit.clusters import MlflowServer, RayCluster, S3Server
from lakestack.config import Project, load_project
from lakestack.features import FeatureStore
from lakestack.lake import Lake
from lakestack.pipelines import Records, run_job
from lakestack.registry import GateReport, ModelRegistry
from lakestack.templates import scaffold
from lakestack.templates.flights.flights_ml import features

SMALL = {"sample": 12000, "rounds": 60}


def production_project(
    root: Path, s3: S3Server, mlflow: MlflowServer, ray: RayCluster, redis: tuple[str, int]
) -> Project:
    scaffold("flights", root, name="flights")
    doc = yaml.safe_load((root / "lakestack.yaml").read_text())
    host, port = redis
    doc["environments"] = {
        "dev": local_environment("dev"),
        "prod": {
            "lake": f"s3://{s3.bucket('prod')}/lake",
            "tracking": mlflow.url,
            "online_store": f"redis://{host}:{port}/0?prefix=lk-{uuid.uuid4().hex[:8]}:",
            "engine": ray.address,
            "storage_options": s3.storage_options(),
        },
    }
    (root / "lakestack.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_project(root)


# 537 s on a machine loaded ~25 (2 cores): the 600 s default is too close
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_flights_loop_on_s3_mlflow_server_redis_and_ray_ends_with_a_retrained_model(
    tmp_path: Path,
    s3_server: S3Server,
    mlflow_server: MlflowServer,
    ray_cluster: RayCluster,
    redis_server: tuple[str, int],
) -> None:
    project = production_project(
        tmp_path / "flights", s3_server, mlflow_server, ray_cluster, redis_server
    )
    prod = project.environment("prod")
    assert prod.engine == ray_cluster.address and prod.lake_root.startswith("s3://")

    for job in ("ingest", "features"):
        result = run_job(project, job, env="prod")
        assert result.ok, [(t.task, t.error) for t in result.failed]
        assert result.run.engine == ray_cluster.address
    lake = Lake.for_environment(project, "prod")
    assert {"silver.flights", "silver.weather"} <= set(lake.tables("silver"))

    training = run_job(project, "training", env="prod", params=SMALL)
    assert training.ok, [(t.task, t.error) for t in training.failed]
    first = training.output("promote")
    assert first["promoted"] and first["stage"] == "staging"
    registry = ModelRegistry(project, "prod")
    registry.promote("flights_delay", first["version"], to="production", reason="first release")

    store = FeatureStore(lake, online_store=prod.online_store)
    for table in store.list_feature_tables():
        store.publish(table.name)
    store.close()

    # Labels arrive up to the end of August; retraining trains on them and gates the result.
    arrived = features.labels(lake).filter(
        pl.col("sched_dep_ts") < datetime(2013, 9, 1, tzinfo=UTC)
    )
    lake.append("labels.flights_delay", arrived.select("flight_id", "sched_dep_ts", "delayed"))
    retraining = run_job(project, "retraining", env="prod", params=SMALL)
    assert retraining.ok, [(t.task, t.error) for t in retraining.failed]
    second = retraining.output("promote")
    assert second["version"] == first["version"] + 1
    decision = [t for t in registry.history("flights_delay") if t.to_version == second["version"]]
    report = GateReport.from_json(decision[-1].gate_results)
    assert second["promoted"] and report.passed, report.to_dict()
    assert registry.alias_holder("flights_delay", "production").version == second["version"]  # type: ignore[union-attr]
    window = retraining.output("prepare")
    assert str(window["holdout_end"]).startswith("2013-09-01")

    # The records and lineage of those runs are on the object store with the tables.
    runs = Records.for_environment(project, "prod").runs()
    assert {r.job for r in runs} == {"ingest", "features", "training", "retraining"}
    assert all(r.status == "succeeded" for r in runs)
    assert lake.history("labels.flights_delay")[0].metadata["environment"] == "prod"
