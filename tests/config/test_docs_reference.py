"""The examples of docs/lakestack-yaml.md are valid project files."""

from __future__ import annotations

import re
from pathlib import Path

from lakestack.config import validate_project_file

DOC = Path(__file__).parents[2] / "docs" / "lakestack-yaml.md"


def test_every_yaml_example_of_the_reference_validates(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 5
    for i, block in enumerate(blocks):
        folder = tmp_path / str(i)
        folder.mkdir()
        text = block if block.startswith("project:") else "project: {name: p}\n" + block
        (folder / "lakestack.yaml").write_text(text)
        _, problems = validate_project_file(folder)
        assert not problems, f"example {i} of {DOC.name}:\n{block}\n{problems}"
