"""`${VAR}` and `${VAR:-default}` in lakestack.yaml, as a shell reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakestack.config import load_project

PROJECT = """\
project: {name: p}
environments:
  dev:
    lake: ${LAKE_ROOT:-lakes/dev}
    tracking: sqlite:///${STATE:-state}/mlflow.db
    online_store: sqlite:///state/online.db
"""


def test_a_default_applies_to_an_unset_or_empty_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lakestack.yaml").write_text(PROJECT)
    monkeypatch.delenv("LAKE_ROOT", raising=False)
    monkeypatch.delenv("STATE", raising=False)
    assert load_project(tmp_path).environment("dev").lake_root == str(tmp_path / "lakes" / "dev")
    # a CI sets a secret's variable to "" when the secret is not defined: the default applies
    monkeypatch.setenv("LAKE_ROOT", "")
    monkeypatch.setenv("STATE", "")
    env = load_project(tmp_path).environment("dev")
    assert env.lake_root == str(tmp_path / "lakes" / "dev")
    assert env.tracking_uri == f"sqlite:///{tmp_path / 'state' / 'mlflow.db'}"
    monkeypatch.setenv("LAKE_ROOT", str(tmp_path / "elsewhere"))
    assert load_project(tmp_path).environment("dev").lake_root == str(tmp_path / "elsewhere")
