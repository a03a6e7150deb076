"""The maintenance example of docs/concepts.md runs as written and prints what it says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "concepts.md"


def test_the_maintenance_example_prints_its_comments() -> None:
    blocks = [b for b in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)]
    example = next(b for b in blocks if "lake.optimize(" in b)
    expected = [
        line.removeprefix("# ").split(":")[0]
        for line in example.splitlines()
        if line.startswith("# ")
    ]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, "concepts.md", "exec"), {"__name__": "docs_example"})
    assert printed.getvalue().splitlines() == expected
