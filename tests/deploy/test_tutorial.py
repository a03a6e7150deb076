"""docs/from-data-to-production.md runs as written, in a fresh virtual environment with
lakestack installed from this checkout: its Python blocks with the venv's Python, its shell
lines one by one in a shell (a `cd` moves the next ones), in one temporary folder.

A line that cannot run says so in the doc, `(not run by the docs tests: why)`, and a line meant
to fail says `(exits N: why)`; the test checks that those are few.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _venv_kit import CHECKOUT, FreshVenv

DOC = CHECKOUT / "docs" / "from-data-to-production.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SKIP = re.compile(r"\(not run by the docs tests: [^)]+\)")
EXITS = re.compile(r"\(exits (\d+)")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "docs test",
    "GIT_AUTHOR_EMAIL": "docs@example.com",
    "GIT_COMMITTER_NAME": "docs test",
    "GIT_COMMITTER_EMAIL": "docs@example.com",
}


def _steps() -> list[tuple[int, str, str]]:
    """`(line, kind, text)` of each Python block and shell line of the doc, in order."""
    text = DOC.read_text()
    steps = []
    for match in FENCE.finditer(text):
        line = text[: match.start()].count("\n") + 1
        if match.group(1) == "python":
            steps.append((line, "python", match.group(2)))
        elif match.group(1) == "bash":
            for offset, command in enumerate(match.group(2).splitlines(), start=1):
                if command.strip() and not command.lstrip().startswith("#"):
                    steps.append((line + offset, "bash", command.strip()))
    return steps


def test_few_steps_of_the_tutorial_are_left_out() -> None:
    steps = _steps()
    skipped = [s for s in steps if SKIP.search(s[2])]
    assert len(steps) >= 15 and len(skipped) * 5 <= len(steps), skipped


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_the_tutorial_runs_from_a_data_file_to_a_production_model(
    fresh_venv: FreshVenv, tmp_path: Path
) -> None:
    cwd = tmp_path
    for line, kind, text in _steps():
        where = f"{DOC.name}:{line}"
        if kind == "python":
            script = tmp_path / f"step_{line}.py"
            script.write_text(text)
            fresh_venv.run("python", script, cwd=cwd)
            continue
        if SKIP.search(text):
            continue
        if text.startswith("cd "):
            cwd = (cwd / text.split()[1]).resolve()
            continue
        expected = EXITS.search(text)
        done = fresh_venv.run("bash", "-c", text, cwd=cwd, check=False, **GIT_IDENTITY)
        code = int(expected.group(1)) if expected else 0
        assert done.returncode == code, (
            f"{where}: `{text}` exited {done.returncode}, not {code}\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    # where the tutorial says it ends: a production model in prod, prod back on v1.0.0
    from lakestack.config import load_project
    from lakestack.deploy import DeploymentLog
    from lakestack.lake import Lake
    from lakestack.registry import ModelRegistry

    project = load_project(tmp_path / "churn")
    assert ModelRegistry(project, "prod").alias_holder("churn", "production") is not None
    current = DeploymentLog(Lake.for_environment(project, "prod")).current()
    assert current is not None and current.action == "rollback"
    assert "refs/tags/v1.0.0" in current.refs
