"""The demo fails the way every command fails: a `LakestackError` that says why, exit 1, one
paragraph (the whole walk-through, end to end, is tests/cli/test_demo.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from _kit import write_project
from lakestack.cli import main
from lakestack.demo import Demo
from lakestack.demo._endpoint import DemoEndpoint
from lakestack.demo._ingest import stage_ingest
from lakestack.errors import ConfigError, PipelineError, ServingError
from lakestack.lake import Lake
from lakestack.templates import scaffold

HERE = Path(__file__).parent


def test_a_failed_ingest_names_the_task_its_error_and_the_run(tmp_path: Path) -> None:
    job = {"tasks": [{"name": "download", "run": "demo_tasks:broken_download", "retries": 0}]}
    project = write_project(
        tmp_path / "proj", name="demo", files=[HERE / "demo_tasks.py"], jobs={"ingest": job}
    )
    demo = Demo(project, Lake.for_environment(project, "dev"))
    with pytest.raises(PipelineError) as info:
        stage_ingest(demo)
    message = str(info.value)
    assert "the ingest job failed in run" in message
    assert "download: " in message and "could not be downloaded" in message
    assert "lakestack runs show" in message


def test_an_endpoint_that_cannot_start_is_a_serving_error_quoting_its_log(tmp_path: Path) -> None:
    project = write_project(tmp_path / "proj", name="demo")
    endpoint = DemoEndpoint(project, "flights_delay", "dev")
    with pytest.raises(ServingError, match=r"exited with 1.*flights_delay"):
        endpoint.start(timeout=120)
    assert not endpoint.server.running


def test_a_demo_folder_that_is_a_file_is_one_paragraph_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    with pytest.raises(ConfigError, match="is a file"):
        scaffold("flights", taken)
    with pytest.raises(SystemExit) as info:
        main(["demo", "--dir", str(taken)])
    err = capsys.readouterr().err
    assert info.value.code == 1
    assert "is a file" in err and "Traceback" not in err
