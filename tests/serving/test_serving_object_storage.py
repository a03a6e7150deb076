"""An endpoint whose environment keeps its lake on the S3-compatible test server: the model's
artifacts beside the lake, every answered request appended to the inference table there."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
from _serving_kit import Served, frame

from _kit import write_project
from _kit.clusters import S3Server
from lakestack.lake import Lake
from lakestack.registry import ModelRegistry
from lakestack.serving import ServerProcess


def test_the_inference_log_appends_to_the_object_store(
    served: Served, s3_server: S3Server, server_factory: Callable[..., ServerProcess]
) -> None:
    bucket = s3_server.bucket()
    served.project = write_project(
        served.root,
        name="servetest",
        environments={
            "dev": {},
            "prod": {"lake": f"s3://{bucket}/lake", "storage_options": s3_server.storage_options()},
        },
        mlflow_db=served.mlflow_db,
        endpoints={"tiny": {"model": "tiny", "log_interval_s": 0.2}},
    )
    served.registry = ModelRegistry(served.project, "prod")
    version = served.log_sklearn()
    listing = s3_server.client().list_objects_v2(Bucket=bucket, Prefix="lake/_mlflow_artifacts/")  # type: ignore[attr-defined]
    assert listing.get("KeyCount", 0) > 0  # the model's files are beside the lake
    assert not (Path(served.root) / ".lakestack" / "prod" / "mlartifacts").exists()

    server = server_factory(served.project, "tiny", "prod").start()
    rows = frame(5, seed=4).to_dict(orient="records")
    for row in rows:
        answer = httpx.post(server.url + "/invocations", json={"dataframe_records": [row]})
        assert answer.status_code == 200, answer.text
    lake = Lake.for_environment(served.project, "prod")
    deadline = time.monotonic() + 120
    logged = 0
    while time.monotonic() < deadline:
        logged = lake.read("inference.tiny").num_rows if lake.exists("inference.tiny") else 0
        if logged >= len(rows):
            break
        time.sleep(0.5)
    assert logged == len(rows)
    table = lake.read_polars("inference.tiny")
    assert set(table["model_version"].to_list()) == {version}
    assert lake.history("inference.tiny")[-1].metadata["environment"] == "prod"
