"""The runnable example of docs/pipelines.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "pipelines.md"


def examples() -> dict[str, str]:
    """The code blocks of the doc that follow `<!-- example: NAME -->`, by NAME."""
    found = re.findall(r"<!-- example: (\S+) -->\n```\w+\n(.*?)```", DOC.read_text(), re.S)
    return dict(found)


def test_the_example_project_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = examples()
    assert set(blocks) == {"lakestack.yaml", "shop_etl.py", "run.py"}
    (tmp_path / "lakestack.yaml").write_text(blocks["lakestack.yaml"])
    (tmp_path / "shop_etl.py").write_text(blocks["shop_etl.py"])
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks["run.py"], "run.py", "exec"), {"__name__": "docs_example"})
    out = capsys.readouterr().out.splitlines()
    assert out == ["succeeded 4 orders kept in dev", "['bronze.orders']"]
