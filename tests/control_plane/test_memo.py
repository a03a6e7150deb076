"""Answers kept per table version: kept while the tables stay, computed anew after a write."""

from __future__ import annotations

from pathlib import Path

from lakestack.control_plane._memo import by_versions
from lakestack.lake import Lake


def test_an_answer_is_kept_for_the_versions_it_was_computed_at(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.append("inference.e", {"x": [1, 2]})
    calls: list[int] = []

    def rows() -> int:
        calls.append(1)
        return lake.read_polars("inference.e").height

    first = (lake.version_key("inference.e"),)
    assert by_versions("rows", first, rows) == 2
    assert by_versions("rows", (lake.version_key("inference.e"),), rows) == 2
    assert len(calls) == 1
    Lake(tmp_path / "lake").append("inference.e", {"x": [3]})  # another writer
    later = (lake.version_key("inference.e"),)
    assert later != first
    assert by_versions("rows", later, rows) == 3
    assert by_versions("other question", later, rows) == 3
    assert len(calls) == 3


def test_nothing_is_kept_while_a_table_is_missing(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    missing = (lake.version_key("inference.none"),)
    assert missing == (None,)
    assert by_versions("rows", missing, lambda: 0) == 0
    lake.append("inference.none", {"x": [1]})
    assert by_versions("rows", missing, lambda: lake.read_polars("inference.none").height) == 1
