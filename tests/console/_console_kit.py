"""The small project the console's tests (and its benchmark) look at, built in a minute.

prod and staging of a project with principals: runs of a two-task job, two versions of the
model `delay` in each (v1 in production, v2 in staging), the endpoint `delay` serving
production with logged traffic (a few bad requests among it), hours of earlier traffic copied
from it into the inference table (v1, then v2, the later hours shifted), labels, and the
monitor `delay` whose drift alert queued a retraining that the scheduler ran.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl

from _kit import free_port
from _kit.access import ENVIRONMENTS, write_access_project
from lakestack.access import AUTHORITY_VARIABLE, acting_as, create_token, role_of
from lakestack.config import Project
from lakestack.lake import Lake
from lakestack.serving import ServerProcess

__all__ = [
    "MLFLOW_UI",
    "SENSORS",
    "TASKS",
    "ConsoleProject",
    "build_console_project",
    "running_console_project",
]

TASKS = """
def extract(ctx):
    ctx.lake.append("bronze.events", {"id": [1, 2, 3], "x1": [0.1, 0.2, 0.3]})
    return 3

def clean(ctx):
    rows = ctx.lake.read("bronze.events")
    ctx.lake.append("silver.events", rows)
    return rows.num_rows

def retrain(ctx):
    ctx.lake.append("gold.retrain_marks", {"n": [1]})
"""

HOURS = 8
"""Hours of earlier traffic copied into the inference table (v1 for the first half)."""


@dataclass
class ConsoleProject:
    """The project, its console (`lakestack server`), its endpoint and a token per principal."""

    project: Project
    console: ServerProcess
    endpoint: ServerProcess
    tokens: dict[tuple[str, str], str]

    @property
    def url(self) -> str:
        return self.console.url

    def token(self, principal: str, env: str = "prod") -> str:
        return self.tokens[principal, env]

    def api(self, principal: str, env: str, path: str, **kw: Any) -> Any:
        """GET (or `method=`) a route of the API as a principal; the decoded JSON."""
        method = kw.pop("method", "GET")
        headers = {"Authorization": f"Bearer {self.token(principal, env)}"}
        response = httpx.request(
            method, f"{self.url}/api/v1/envs/{env}{path}", headers=headers, timeout=120, **kw
        )
        response.raise_for_status()
        return response.json()


def _sections(port: int) -> dict[str, Any]:
    rule = {
        "name": "x1_drift",
        "when": "drift.psi > 0.2 on any feature in the latest window",
        "actions": [{"retrain": "retraining"}],
    }
    return {
        "jobs": {
            "ingest": {
                "tasks": [
                    {"name": "extract", "run": "console_tasks:extract"},
                    {"name": "clean", "run": "console_tasks:clean", "depends_on": ["extract"]},
                ]
            },
            "retraining": {"tasks": [{"name": "fit", "run": "console_tasks:retrain"}]},
        },
        "models": {"delay": {"problem": "binary"}},
        "endpoints": {"delay": {"model": "delay", "port": port, "log_interval_s": 0.2}},
        "monitors": {
            "delay": {
                "table": "inference.delay",
                "model": "delay",
                "window": "1h",
                "columns": ["x1", "x2"],
                "baseline": {"schema_file": "baseline.json"},
                "labels": {"table": "bronze.labels", "keys": ["request_id", "row"]},
                "alerts": [rule],
            }
        },
    }


SENSORS = {"a": -1.0, "b": 0.0, "c": 0.5, "d": 1.5}
"""The feature `x2` of each key `k`, in the feature table `features.sensors` (published)."""


def _model_data(seed: int, rows: int = 2000) -> Any:
    """x1 and x2 as the endpoint sees them when traffic is not shifted."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    keys = rng.choice(sorted(SENSORS), rows)
    return pd.DataFrame({"x1": rng.normal(0.0, 1.0, rows), "x2": [SENSORS[k] for k in keys]})


def _features(project: Project, env: str) -> None:
    """`features.sensors` (x2 by key k), published to the environment's online store."""
    from lakestack.features import FeatureStore

    with FeatureStore(project, env) as store:
        data = {"k": list(SENSORS), "x2": list(SENSORS.values())}
        store.create_feature_table("features.sensors", primary_keys=["k"], data=data)
        store.publish("features.sensors")


def _log_versions(project: Project, env: str) -> None:
    """v1 and v2 of `delay`, a logistic regression of x1 and x2, x2 looked up by the key k;
    v1 in production, v2 in staging."""
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    from lakestack.features import FeatureLookup, FeatureStore
    from lakestack.registry import Lineage, ModelRegistry

    registry = ModelRegistry(project, env)
    for seed in (1, 2):
        rng = np.random.default_rng(seed)
        labels = pl.DataFrame({"k": rng.choice(sorted(SENSORS), 200), "x1": rng.normal(size=200)})
        with FeatureStore(project, env) as store:
            training = store.build_training_set(labels, [FeatureLookup("features.sensors", "k")])
        x = training.to_pandas()[["x1", "x2"]]
        y = (x["x1"] + 0.3 * x["x2"] > 0).astype("int64")
        model = LogisticRegression().fit(x, y)
        info = registry.log_model(
            model,
            "delay",
            signature=infer_signature(x, model.predict(x)),
            input_example=x.head(3),
            lineage=Lineage(
                training_tables={"silver.events": 0},
                feature_spec=training.spec,
                metrics={"accuracy": float(model.score(x, y)), "rows": float(len(x))},
            ),
        )
        stage = "production" if seed == 1 else "staging"
        registry.promote("delay", info.version, to=stage, force=True, reason="console test")


def _env_of(principal: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKESTACK_")}
    env["LAKESTACK_PRINCIPAL"] = principal
    return env


def _send_traffic(url: str) -> int:
    """60 good requests of 1-3 rows, 4 bad ones; the rows answered."""
    rng = np.random.default_rng(7)
    answered = 0
    with httpx.Client(base_url=url, timeout=60) as client:
        for i in range(60):
            rows = 1 + i % 3
            records = [
                {"x1": float(rng.normal(1.5)), "k": str(rng.choice(sorted(SENSORS)))}
                for _ in range(rows)
            ]
            response = client.post("/invocations", json={"dataframe_records": records})
            response.raise_for_status()
            answered += rows
        for bad in (
            {"dataframe_records": [{"k": "a"}]},
            {"dataframe_records": [{"x1": "a", "k": "a"}]},
        ):
            for _ in range(2):
                assert client.post("/invocations", json=bad).status_code == 422
    return answered


def _wait_logged(lake: Lake, table: str, rows: int, deadline_s: float = 120) -> pl.DataFrame:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if lake.exists(table):
            frame = lake.read_polars(table)
            if frame.filter(pl.col("status") == 200).height >= rows:
                return frame
        time.sleep(0.2)
    raise AssertionError(f"{table} did not get {rows} answered rows in {deadline_s} s")


def _history(logged: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """Copies of the answered rows in each of the `HOURS` hours before this one: v1 for the
    first half, v2 after, `x1` shifted up in the later hours."""
    answered = logged.filter(pl.col("status") == 200)
    top = now.replace(minute=0, second=0, microsecond=0)
    parts = []
    for hour in range(HOURS):
        start = top - timedelta(hours=HOURS - hour)
        step = timedelta(seconds=3500 / max(answered.height, 1))
        shift = 0.0 if hour < HOURS // 2 else 0.4 * (hour - HOURS // 2 + 1)
        parts.append(
            answered.with_columns(
                (pl.col("record_id") + f"-h{hour}").alias("record_id"),
                (pl.col("request_id") + f"-h{hour}").alias("request_id"),
                pl.datetime_range(
                    start, start + step * (answered.height - 1), step, time_zone="UTC", eager=True
                )
                .dt.cast_time_unit("us")
                .alias("ts"),
                pl.lit(1 if hour < HOURS // 2 else 2, dtype=pl.Int64).alias("model_version"),
                (pl.col("x1") - 1.5 + shift).alias("x1"),
            )
        )
    return pl.concat(parts)


def _labels(frame: pl.DataFrame) -> pl.DataFrame:
    rng = np.random.default_rng(3)
    truth = (frame["x1"].to_numpy() + 0.3 * frame["x2"].to_numpy() > 0).astype(np.int64)
    flip = rng.random(frame.height) < 0.15
    return pl.DataFrame(
        {
            "request_id": frame["request_id"],
            "row": frame["row"],
            "label": np.where(flip, 1 - truth, truth),
        }
    )


def build_console_project(
    root: Path, mlflow_db: Path
) -> tuple[Project, int, dict[tuple[str, str], str]]:
    """Write the project, log the versions, run the jobs; (project, endpoint port, tokens)."""
    from lakestack.pipelines import run_job
    from lakestack.validation import infer_schema

    root.mkdir(parents=True, exist_ok=True)
    (root / "console_tasks.py").write_text(TASKS)
    infer_schema(pl.from_pandas(_model_data(0))).save(root / "baseline.json")
    port = free_port()
    project = write_access_project(root, mlflow_db=mlflow_db, **_sections(port))
    os.environ[AUTHORITY_VARIABLE] = ",".join(ENVIRONMENTS)
    try:
        tokens: dict[tuple[str, str], str] = {}
        with acting_as("alice"):
            for principal in ("alice", "dev1", "dep1", "mallory"):
                for env in ENVIRONMENTS:
                    if role_of(project, principal, env) is not None:
                        tokens[principal, env] = create_token(project, principal, [env]).token
        with acting_as("dep1"):
            for env in ("staging", "prod"):
                run_job(project, "ingest", env=env)
                _features(project, env)
                _log_versions(project, env)
    finally:
        os.environ.pop(AUTHORITY_VARIABLE, None)
    return project, port, tokens


def add_traffic_and_monitor(project: Project, endpoint: ServerProcess) -> None:
    """Traffic through the endpoint, earlier hours and labels, a monitor pass, the retraining."""
    from lakestack.monitoring import run_monitor
    from lakestack.pipelines import Scheduler

    lake = Lake.for_environment(project, "prod")
    answered = _send_traffic(endpoint.url)
    logged = _wait_logged(lake, "inference.delay", answered)
    now = datetime.now(UTC)
    os.environ[AUTHORITY_VARIABLE] = ",".join(ENVIRONMENTS)
    try:
        with acting_as("dep1"):
            lake = Lake.for_environment(project, "prod")
            history = _history(logged, now)
            lake.append("inference.delay", history)
            answered_rows = pl.concat([history, logged.filter(pl.col("status") == 200)])
            lake.append("bronze.labels", _labels(answered_rows))
            scheduler = Scheduler(project, "prod", background=False)
            top = now.replace(minute=0, second=0, microsecond=0)
            launched = []
            for hour in range(HOURS, -2, -1):  # a pass after each hour, the current one last
                run_monitor(
                    project, "delay", "prod", now=top - timedelta(hours=hour) + timedelta(minutes=1)
                )
                launched += scheduler.tick()
            assert [x.job for x in launched] == ["retraining"], launched
            assert all(r.ok for r in scheduler.results), scheduler.results
    finally:
        os.environ.pop(AUTHORITY_VARIABLE, None)


MLFLOW_UI = "http://127.0.0.1:5000"
"""The MLflow UI address the console links model versions to (`--mlflow-ui`)."""


def console_process(project: Project, port: int) -> ServerProcess:
    """`lakestack server` (the API and the console) of every environment, up on `/health`."""
    command = [sys.executable, "-m", "lakestack", "server", "-p", str(project.root)]
    command += ["--port", str(port), "--log-level", "warning", "--mlflow-ui", MLFLOW_UI]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LAKESTACK_")}
    log = project.root / f"console-{port}.log"
    return ServerProcess(command, port, log, ready_path="/health", env=environ, name="console")


@contextmanager
def running_console_project(root: Path, mlflow_db: Path) -> Iterator[ConsoleProject]:
    """The project with its endpoint and its console running; both stopped at the end."""
    project, port, tokens = build_console_project(root, mlflow_db)
    endpoint = ServerProcess.lakestack_serve(
        project.root,
        "delay",
        "prod",
        port=port,
        args=("--log-level", "warning"),
        env=_env_of("dep1"),
    )
    console = console_process(project, free_port())
    endpoint.start(timeout=180)
    try:
        add_traffic_and_monitor(project, endpoint)
        console.start(timeout=180)
        try:
            yield ConsoleProject(project, console, endpoint, tokens)
        finally:
            console.stop()
    finally:
        endpoint.stop()
