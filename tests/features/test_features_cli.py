"""`lakestack features list|show|publish|check|lookup`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from lakestack.cli import app
from lakestack.config import Project
from lakestack.features import FeatureStore

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def args(store: FeatureStore, project: Project) -> list[str]:
    store.create_feature_table(
        "features.weather",
        data={"origin": ["JFK", "LGA"], "ts": [T0, T0], "temp": [1.0, 2.0]},
        primary_keys=["origin"],
        timestamp_key="ts",
        description="hourly weather",
        tags={"domain": "flights"},
    )
    return ["--project", str(project.root), "--env", "dev"]


def test_list_and_show(args: list[str]) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["features", "list", *args, "--json"])
    assert listed.exit_code == 0, listed.output
    [table] = json.loads(listed.output)
    assert (table["name"], table["primary_keys"], table["timestamp_key"]) == (
        "features.weather",
        ["origin"],
        "ts",
    )
    assert table["features"] == ["temp"]
    assert "features.weather" in runner.invoke(app, ["features", "list", *args]).output
    shown = runner.invoke(app, ["features", "show", "features.weather", *args, "--json"])
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.output)
    assert (doc["description"], doc["tags"], doc["online"]) == (
        "hourly weather",
        {"domain": "flights"},
        None,
    )
    text = runner.invoke(app, ["features", "show", "features.weather", *args]).output
    assert "online: not published" in text and "event time" in text


def test_publish_check_lookup(args: list[str]) -> None:
    runner = CliRunner()
    check = runner.invoke(app, ["features", "check", "features.weather", *args])
    assert check.exit_code == 1 and "2 missing online" in check.output
    first = runner.invoke(app, ["features", "publish", "features.weather", *args, "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["keys_written"] == 2
    second = runner.invoke(app, ["features", "publish", "features.weather", *args])
    assert "0 keys written" in second.output
    check = runner.invoke(app, ["features", "check", "features.weather", *args, "--json"])
    assert check.exit_code == 0, check.output
    assert json.loads(check.output)["passed"] is True
    found = runner.invoke(
        app, ["features", "lookup", "features.weather", "LGA", "XXX", *args, "--json"]
    )
    assert found.exit_code == 0, found.output
    assert [r["temp"] for r in json.loads(found.output)] == [2.0, None]
    by_name = runner.invoke(app, ["features", "lookup", "features.weather", "origin=JFK", *args])
    assert "1.0" in by_name.output
    shown = runner.invoke(app, ["features", "show", "features.weather", *args, "--json"])
    assert json.loads(shown.output)["online"]["keys"] == 2


def test_errors_exit_1(args: list[str]) -> None:
    from lakestack.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["features", "show", "features.nothing", *args])
    assert exit_info.value.code == 1


def test_publish_as_of(args: list[str], store: FeatureStore) -> None:
    store.write(
        "features.weather", {"origin": ["JFK"], "ts": [T0 + timedelta(hours=2)], "temp": [5.0]}
    )
    runner = CliRunner()
    first = runner.invoke(
        app, ["features", "publish", "features.weather", "--as-of", "2024-01-01T01:00:00", *args]
    )
    assert first.exit_code == 0, first.output
    assert "as of 2024-01-01T01:00:00+00:00" in first.output and "2 keys written" in first.output
    assert store.lookup("features.weather", ["JFK"]).column("temp").to_pylist() == [1.0]
    later = runner.invoke(
        app,
        [
            "features",
            "publish",
            "features.weather",
            "--as-of",
            "2024-01-01 02:00:00",
            *args,
            "--json",
        ],
    )
    assert later.exit_code == 0, later.output
    doc = json.loads(later.output)
    assert (doc["as_of"], doc["keys_written"], doc["full"]) == (
        "2024-01-01T02:00:00+00:00",
        1,
        False,
    )
    assert store.lookup("features.weather", ["JFK"]).column("temp").to_pylist() == [5.0]
    shown = runner.invoke(app, ["features", "show", "features.weather", *args])
    assert "as of 2024-01-01T02:00:00+00:00, 2 keys" in shown.output
    bad = runner.invoke(app, ["features", "publish", "features.weather", "--as-of", "noon", *args])
    assert bad.exit_code == 2 and "not an ISO 8601 time" in bad.output
