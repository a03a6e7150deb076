"""An environment reaches another environment's tables only through lakestack.yaml grants."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakestack.config import load_project
from lakestack.errors import EnvironmentAccessError
from lakestack.lake import Lake

PROJECT = """
project: {name: grants}
environments:
  dev:
    lake: lakes/dev
    tracking: sqlite:///dev.db
    online_store: sqlite:///dev-online.db
  staging:
    lake: lakes/staging
    tracking: sqlite:///staging.db
    online_store: sqlite:///staging-online.db
    grants: {read: [dev]}
  prod:
    lake: lakes/prod
    tracking: sqlite:///prod.db
    online_store: sqlite:///prod-online.db
    grants: {read: [staging], write: [staging]}
"""


@pytest.fixture
def lakes(tmp_path: Path) -> dict[str, Lake]:
    (tmp_path / "lakestack.yaml").write_text(PROJECT)
    project = load_project(tmp_path)
    return {env: Lake.for_environment(project, env) for env in ("dev", "staging", "prod")}


def test_each_environment_has_its_own_lake(lakes: dict[str, Lake], tmp_path: Path) -> None:
    lakes["dev"].append("silver.t", {"x": [1]})
    assert lakes["dev"].root == str(tmp_path / "lakes" / "dev")
    assert not lakes["prod"].exists("silver.t")


def test_granted_read_works_and_records_the_environment(lakes: dict[str, Lake]) -> None:
    lakes["prod"].append("silver.t", {"x": [1, 2]})
    seen = []
    lakes["staging"].add_listener(seen.append)
    assert lakes["staging"].read("silver.t", environment="prod").num_rows == 2
    assert seen[0].environment == "prod"
    assert lakes["staging"].info("silver.t", environment="prod").environment == "prod"


def test_read_without_grant_is_refused(lakes: dict[str, Lake]) -> None:
    lakes["prod"].append("silver.t", {"x": [1]})
    with pytest.raises(EnvironmentAccessError) as info:
        lakes["dev"].read("silver.t", environment="prod")
    message = str(info.value)
    assert "'dev' may not read table silver.t of environment 'prod'" in message
    assert "environments.prod.grants.read" in message


def test_write_into_another_lake_is_refused_naming_both_and_the_grant(
    lakes: dict[str, Lake],
) -> None:
    for call in (
        lambda: lakes["dev"].append("silver.t", {"x": [1]}, environment="prod"),
        lambda: lakes["dev"].merge("silver.t", {"x": [1]}, keys=["x"], environment="staging"),
        lambda: lakes["dev"].delete("silver.t", "x = 1", environment="prod"),
    ):
        with pytest.raises(EnvironmentAccessError) as info:
            call()
        message = str(info.value)
        assert "environment 'dev' may not write" in message
        assert "grants.write" in message
    assert not lakes["prod"].exists("silver.t")
    assert not lakes["staging"].exists("silver.t")


def test_granted_write_lands_in_the_other_lake(lakes: dict[str, Lake]) -> None:
    lakes["staging"].append("silver.t", {"x": [1]}, environment="prod")
    assert lakes["prod"].read("silver.t").num_rows == 1
    assert lakes["prod"].history("silver.t")[0].metadata["environment"] == "staging"


def test_unknown_environment_is_named(lakes: dict[str, Lake]) -> None:
    with pytest.raises(EnvironmentAccessError, match="'qa' is unknown.*known: dev, staging, prod"):
        lakes["dev"].read("silver.t", environment="qa")
