"""The README's tour runs as written, line by line, on the project it scaffolds; so does its
Python example."""

from __future__ import annotations

from pathlib import Path

import pytest
from _docs_kit import ROOT, blocks, commands, run_command

from lakestack.config import load_project
from lakestack.lake import Lake
from lakestack.registry import ModelRegistry

README = ROOT / "README.md"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "docs test",
    "GIT_AUTHOR_EMAIL": "docs@example.com",
    "GIT_COMMITTER_NAME": "docs test",
    "GIT_COMMITTER_EMAIL": "docs@example.com",
}


def _tour() -> list:  # type: ignore[type-arg]
    bash = [b for b in blocks(README, "bash") if "lakestack --version" in b.text]
    assert len(bash) == 1, "the README has one tour"
    return commands(bash[0])


def test_the_tour_says_why_for_each_line_it_does_not_run() -> None:
    skipped = [c for c in _tour() if c.skip]
    assert len(_tour()) >= 30 and len(skipped) <= 5, [c.text for c in skipped]
    assert all(len(c.skip or "") > 10 for c in skipped)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # two trainings and a reproduction on the real data
def test_the_tour_runs_line_by_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in GIT_IDENTITY.items():
        monkeypatch.setenv(key, value)
    cwd = tmp_path
    outputs: dict[str, str] = {}
    for command in _tour():
        if command.skip:
            continue
        cwd, outputs[command.text] = run_command(command, cwd, capsys)
    assert cwd == tmp_path / "flights"

    def output(prefix: str) -> str:
        return next(out for text, out in outputs.items() if text.startswith(prefix))

    assert "silver.flights" in output("lakestack tables list ")
    assert "flights_delay" in output("lakestack models versions")
    project = load_project(cwd)
    holder = ModelRegistry(project, "dev").alias_holder("flights_delay", "production")
    assert holder is not None and holder.version == 1  # promoted 1, then 2, rolled back to 1
    lake = Lake.for_environment(project, "dev")
    assert lake.info("gold.delay_predictions").rows == lake.info("gold.flights_training").rows
    python = blocks(README, "python")
    assert len(python) == 1
    monkeypatch.chdir(tmp_path)
    exec(compile(python[0].text, python[0].where, "exec"), {"__name__": "readme"})
