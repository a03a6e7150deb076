"""Reading the fenced examples of README.md and docs/*.md, and running their commands.

A line or a block that cannot run in a test (a server that runs until stopped, a step that
needs traffic) says so in the doc itself, visibly: a comment holding `(not run by the docs
tests: <why>)`. Everything else runs, and must succeed; a command that is meant to fail says
so too: `(exits 1: <why>)`. Commands may set variables as a shell reader would
(`export NAME=value` for the page's later commands, `NAME=value lakestack ...` for one).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lakestack.cli import main

ROOT = Path(__file__).parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = re.compile(r"\(not run by the docs tests: ([^)]+(?:\([^)]*\)[^)]*)*)\)")
EXITS = re.compile(r"\(exits (\d+)")
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


@dataclass(frozen=True)
class Block:
    """A fenced block of a doc."""

    doc: Path
    line: int
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"

    @property
    def skip(self) -> str | None:
        """Why the whole block does not run (a marker on its first line), or None."""
        first = self.text.splitlines()[0] if self.text else ""
        found = SKIP.search(first)
        return found.group(1) if found else None


@dataclass(frozen=True)
class Command:
    """One shell line of a block: its text, why it does not run (or None), its exit code."""

    block: Block
    line: int
    text: str
    skip: str | None
    exits: int = 0


def blocks(doc: Path, *langs: str) -> list[Block]:
    """The fenced blocks of `doc` (of these languages, when given), in order."""
    text = doc.read_text()
    found = [
        Block(doc, text[: m.start()].count("\n") + 1, m.group(1), m.group(2))
        for m in _FENCE.finditer(text)
    ]
    return [b for b in found if not langs or b.lang in langs]


def commands(block: Block) -> list[Command]:
    """The shell commands of a block: one a line (a line ending in `\\` goes on on the next),
    blank lines and comment lines left out."""
    out = []
    pending = ""
    for offset, raw in enumerate(block.text.splitlines(), start=1):
        line = pending + raw.removeprefix("$ ").strip()
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        pending = ""
        if not line or line.startswith("#"):
            continue
        found, exits = SKIP.search(line), EXITS.search(line)
        skip = found.group(1) if found else None
        code = int(exits.group(1)) if exits else 0
        out.append(Command(block, block.line + offset, line, skip, code))
    return out


_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
_SHELL = {">", ">>", "|", "&&", "||", ";"}  # a command line with these runs in a shell


def run_command(
    command: Command,
    cwd: Path,
    capsys: pytest.CaptureFixture[str],
    exported: dict[str, str] | None = None,
) -> tuple[Path, str]:
    """Run one command in `cwd`: `lakestack ...` through the CLI's `main`, `cd` by moving,
    `export NAME=value` into `exported` (the variables of the page's later commands),
    anything else (and a `lakestack` line with redirections, pipes or `$(...)`) in a shell,
    with this environment's `lakestack` on the PATH; `NAME=value` before a command sets it for that command.
    Returns the folder the next command runs in, and the output.

    Raises:
        AssertionError: the command failed; the message names the doc's line.
    """
    words = shlex.split(command.text, comments=True)
    if words[0] == "export" and exported is not None:
        for word in words[1:]:
            name, value = word.split("=", 1)
            exported[name] = value
        return cwd, ""
    variables = dict(exported or {})
    while words and _ASSIGNMENT.match(words[0]):
        name, value = words.pop(0).split("=", 1)
        variables[name] = value
    if words[0] == "cd":
        return (cwd / words[1]).resolve(), ""
    if words[0] != "lakestack" or any(w in _SHELL or "$(" in w for w in words):
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        done = subprocess.run(
            command.text,
            shell=True,
            cwd=cwd,
            capture_output=True,
            text=True,
            env={**os.environ, **variables, "PATH": path},
        )
        assert done.returncode == command.exits, (
            f"{command.block.where}+{command.line}: {done.stderr}"
        )
        return cwd, done.stdout
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        for name, value in variables.items():
            patch.setenv(name, value)
        with pytest.raises(SystemExit) as exited:
            main(words[1:])
    out, err = capsys.readouterr()
    where = f"{command.block.doc.name} line {command.line}: `{command.text}`"
    code = exited.value.code or 0
    assert code == command.exits, f"{where} exited {code}, not {command.exits}:\n{err}\n{out}"
    return cwd, out
