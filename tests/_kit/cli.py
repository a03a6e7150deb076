"""The CLI as a user types it, in this process: exit code, stdout and stderr."""

from __future__ import annotations

import pytest

from lakestack.cli import main

__all__ = ["run_cli"]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`lakestack <args>` through `main`: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err
