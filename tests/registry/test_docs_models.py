"""The logging example of docs/models.md runs as written and prints what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from _kit import write_project

DOC = Path(__file__).parents[2] / "docs" / "models.md"


def test_a_scikit_learn_pipeline_logs_with_no_option_as_the_docs_say(
    tmp_path: Path,
    mlflow_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = DOC.read_text()
    example = re.search(
        r"<!-- example: log.py -->\n```python\n(.*?)```\n\nprints `(.*?)`", text, re.S
    )
    assert example is not None
    write_project(tmp_path, name="docs", environments=["dev"], mlflow_db=mlflow_db)
    monkeypatch.chdir(tmp_path)
    exec(compile(example.group(1), "models.md", "exec"), {"__name__": "docs_example"})
    assert capsys.readouterr().out.strip() == example.group(2)
