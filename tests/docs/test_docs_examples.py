"""The examples of docs/*.md run as written: each page's blocks in order, in a folder of its
own, Python in one namespace, shell commands through the CLI. A block after
`<!-- example: NAME -->` is also written to the file NAME (a page's `lakestack.yaml`, its task
module; `<!-- example: NAME, appended -->` adds it at the end of the file), so the commands and
code after it find the project the page describes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _docs_kit import DOCS, Block, blocks, commands, run_command

from conftest import FlightsAfter

SHELL = ("bash", "console", "sh", "shell")
PAGES = [d for d in DOCS if d.name != "README.md" and blocks(d, "python", *SHELL)]
README = DOCS[0]
# Pages whose examples are not yet complete programs: sketches of the reader's own objects,
# or operations on a cluster. strict: a page that starts to run must leave this list.
SKETCHES = {
    "models.md": "sketches with the reader's model and data (`booster`, `X`, `schema`)",
}


_AFTER = re.compile(
    r"examples on this page run in the flights example project after ((?:`[^`]+`(?:,? and |, )?)+)"
)


def _jobs(doc: Path) -> tuple[str, ...] | None:
    """The flights jobs a page says its examples run after, or None (an empty folder)."""
    found = _AFTER.search(" ".join(doc.read_text().split()))
    return None if found is None else tuple(re.findall(r"`lakestack run (\w+)`", found.group(1)))


def _named(doc: Path) -> dict[int, tuple[str, bool]]:
    """The file each `<!-- example: NAME -->` block is written to (`<!-- example: NAME,
    appended -->`: added at its end), by the block's line."""
    text = doc.read_text()
    return {
        text[: m.end()].count("\n") + 1: (m.group(1), m.group(2) is not None)
        for m in re.finditer(r"<!-- example: ([^\s,]+)(, appended)? -->\n", text)
    }


def test_only_a_few_examples_are_not_run() -> None:
    """Of the README's tour and the pages' examples, at most one in four is marked not run."""
    examples: list[Block | object] = []
    skipped: list[str] = []
    for doc in [README, *PAGES]:
        if doc.name in SKETCHES:
            continue
        for block in blocks(doc, "python", *SHELL):
            units = commands(block) if block.lang in SHELL else [block]
            examples += units
            skipped += [f"{block.where}: {u.text[:40]}" for u in units if u.skip]  # type: ignore[attr-defined]
    assert len(examples) >= 10
    assert len(skipped) * 4 <= len(examples), skipped


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(d, marks=pytest.mark.xfail(reason=SKETCHES[d.name], strict=True))
        if d.name in SKETCHES
        else d
        for d in PAGES
    ],
    ids=lambda d: d.name,
)
def test_the_examples_of_a_page_run(
    doc: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flights_after: FlightsAfter,
) -> None:
    jobs = _jobs(doc)
    cwd = tmp_path if jobs is None else flights_after(jobs, tmp_path / "flights")
    monkeypatch.chdir(cwd)
    files = _named(doc)
    namespace: dict[str, object] = {"__name__": f"docs_{doc.stem}"}
    exported: dict[str, str] = {}
    for block in blocks(doc, "yaml", "python", *SHELL):
        if block.line in files:
            name, appended = files[block.line]
            with (cwd / name).open("a" if appended else "w") as file:
                file.write(block.text)
        if block.skip or block.lang == "yaml":
            continue
        if block.lang in SHELL:
            for command in commands(block):
                if not command.skip:
                    cwd, _ = run_command(command, cwd, capsys, exported)
            continue
        monkeypatch.chdir(cwd)
        for key, value in exported.items():
            monkeypatch.setenv(key, value)
        try:
            exec(compile(block.text, block.where, "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"the example at {block.where} failed: {exc!r}") from exc
