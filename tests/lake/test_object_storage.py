"""The lake on an S3-compatible object store started by the tests (moto on 127.0.0.1): every
lake operation, time travel, commit metadata, and writers in two processes losing nothing.

The project reads the endpoint and credentials from `${VAR}`s, as a production project would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from _kit.clusters import S3Server
from lakestack.config import Project, load_project
from lakestack.errors import LakeError, TableNotFoundError
from lakestack.lake import Lake

WRITER = Path(__file__).with_name("_project_writer_process.py")


def s3_project(folder: Path, s3: S3Server, bucket: str, **prod: Any) -> Project:
    """dev on a local folder; prod on `s3://<bucket>/lake`, readable by dev."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "project": {"name": "objects"},
        "environments": {
            "dev": {
                "lake": ".lakestack/dev/lake",
                "tracking": "sqlite:///.lakestack/dev/mlflow.db",
                "online_store": "sqlite:///.lakestack/dev/online.db",
            },
            "prod": {
                "lake": f"s3://{bucket}/lake",
                "tracking": "sqlite:///.lakestack/prod/mlflow.db",
                "online_store": "sqlite:///.lakestack/prod/online.db",
                "storage_options": s3.storage_options(),
                "grants": {"read": ["dev"]},
                **prod,
            },
        },
    }
    (folder / "lakestack.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_project(folder)


@pytest.fixture
def prod(tmp_path: Path, s3_server: S3Server) -> Lake:
    project = s3_project(tmp_path / "proj", s3_server, s3_server.bucket())
    return Lake.for_environment(project, "prod")


def test_the_environment_reads_its_endpoint_and_credentials_from_variables(
    tmp_path: Path, s3_server: S3Server
) -> None:
    project = s3_project(tmp_path / "proj", s3_server, "some-bucket")
    env = project.environment("prod")
    assert env.lake_root == "s3://some-bucket/lake"
    assert env.storage_options["AWS_ENDPOINT_URL"] == s3_server.endpoint
    assert env.storage_options["AWS_SECRET_ACCESS_KEY"] == s3_server.secret_key
    options = Lake.for_environment(project, "prod").storage_options or {}
    assert options["aws_conditional_put"] == "etag"  # safe concurrent commits
    assert options["aws_allow_http"] == "true"  # an http:// endpoint


def test_every_lake_operation_works_on_the_object_store(prod: Lake) -> None:
    lake = prod.with_context(run_id="run-1", job="ingest", task="load")
    assert lake.append("bronze.events", {"id": [1, 2, 3], "v": [1.0, 2.0, 3.0]}) == 0
    first = lake.history("bronze.events")[0].timestamp
    assert lake.append("bronze.events", {"id": [4], "v": [4.0], "note": ["new column"]}) == 1
    assert lake.merge("bronze.events", {"id": [4, 5], "v": [40.0, 5.0]}, keys=["id"]) == 2
    assert lake.delete("bronze.events", "id = 1") == 3
    assert lake.overwrite("silver.events", lake.read("bronze.events")) == 0

    latest = lake.read_polars("bronze.events").sort("id")
    assert latest["id"].to_list() == [2, 3, 4, 5] and latest["v"].to_list() == [2.0, 3.0, 40.0, 5.0]
    assert lake.read("bronze.events@0").num_rows == 3  # time travel by version
    # and by time: the commit times (ms), not S3's Last-Modified (whole seconds, all one here)
    assert lake.read("bronze.events", as_of=first).num_rows == 3
    assert lake.read("bronze.events", columns=["id"], filters=[("id", ">", 3)]).num_rows == 2
    assert lake.read("bronze.events", limit=1).num_rows == 1

    history = lake.history("bronze.events")
    assert [c.version for c in history] == [3, 2, 1, 0]
    assert {
        tuple(c.metadata.get(k) for k in ("run_id", "job", "task", "environment")) for c in history
    } == {("run-1", "ingest", "load", "prod")}
    assert lake.tables() == ["bronze.events", "silver.events"]
    assert lake.tables("silver") == ["silver.events"]
    info = lake.info("bronze.events")
    assert (info.version, info.rows) == (3, 4) and info.location.startswith("s3://")

    assert lake.optimize("bronze.events").files_removed >= 2
    assert lake.read("bronze.events").num_rows == 4
    assert lake.read("bronze.events@0").num_rows == 3  # compaction keeps old versions readable


def test_a_granted_environment_reads_the_object_store_lake(
    tmp_path: Path, s3_server: S3Server
) -> None:
    project = s3_project(tmp_path / "proj", s3_server, s3_server.bucket())
    Lake.for_environment(project, "prod").append("gold.scores", {"id": [1, 2]})
    dev = Lake.for_environment(project, "dev")
    assert dev.read("gold.scores", environment="prod").num_rows == 2
    assert not Path(dev.root).exists() or not any(Path(dev.root).iterdir())


def test_a_missing_table_on_the_object_store_is_a_clear_error(prod: Lake) -> None:
    with pytest.raises(TableNotFoundError, match=r"silver\.nothing does not exist in the 'prod'"):
        prod.read("silver.nothing")
    assert not prod.exists("silver.nothing")


def test_a_missing_bucket_is_a_clear_error(tmp_path: Path, s3_server: S3Server) -> None:
    project = s3_project(tmp_path / "proj", s3_server, "no-such-bucket-here")
    with pytest.raises(
        LakeError, match="cannot list the lake s3://no-such-bucket-here/lake: the bucket"
    ):
        Lake.for_environment(project, "prod").tables()


def test_unsafe_rename_is_refused_with_the_fix(tmp_path: Path, s3_server: S3Server) -> None:
    options = {**s3_server.storage_options(), "AWS_S3_ALLOW_UNSAFE_RENAME": "true"}
    project = s3_project(tmp_path / "proj", s3_server, "b", storage_options=options)
    with pytest.raises(LakeError, match="AWS_S3_ALLOW_UNSAFE_RENAME") as info:
        Lake.for_environment(project, "prod")
    assert "Remove it from storage_options" in str(info.value)


def _run_writers(mode: str, project: Project, count: int) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, str(WRITER), mode, str(project.root), "prod", str(w), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(2)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        assert json.loads(out.strip().splitlines()[-1]) == {"ok": count}


def test_two_processes_appending_at_once_lose_nothing(tmp_path: Path, s3_server: S3Server) -> None:
    project = s3_project(tmp_path / "proj", s3_server, s3_server.bucket())
    lake = Lake.for_environment(project, "prod")
    lake.append("bronze.events", {"writer": [-1], "seq": [-1], "part": [-1]})
    _run_writers("append", project, 12)
    rows = lake.read("bronze.events").to_pylist()
    landed = {(r["writer"], r["seq"], r["part"]) for r in rows if r["writer"] >= 0}
    assert len(rows) == 1 + 2 * 12 * 2
    assert landed == {(w, s, p) for w in range(2) for s in range(12) for p in range(2)}
    assert lake.version("bronze.events") == 24
    writers = {c.metadata.get("task") for c in lake.history("bronze.events")}
    assert {"w0", "w1"} <= writers


def test_two_processes_merging_at_once_lose_nothing(tmp_path: Path, s3_server: S3Server) -> None:
    project = s3_project(tmp_path / "proj", s3_server, s3_server.bucket())
    lake = Lake.for_environment(project, "prod")
    lake.merge("gold.counts", {"k": [0, 1], "n": [0, 0]}, keys=["k"])
    _run_writers("merge", project, 6)
    merges = [c for c in lake.history("gold.counts") if c.operation == "MERGE"]
    assert len(merges) == 12
    assert {r["k"]: r["n"] for r in lake.read("gold.counts").to_pylist()} == {0: 6, 1: 6}
