"""The system tables: one declaration per table, and the tables written agree with it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from lakestack import system_tables
from lakestack.lake import Lake
from lakestack.pipelines import Records, RunRecord, TaskRun
from lakestack.registry._transitions import append_transition, new_transition
from lakestack.serving import MLFLOW_TYPES, InferenceLog, InputSchema
from lakestack.serving import Column as InputColumn
from lakestack.system_tables import (
    ALL,
    INFERENCE,
    MODEL_TRANSITIONS,
    RUNS,
    TASK_RUNS,
    Column,
    SystemTable,
    by_name,
)


def test_importing_it_loads_no_other_lakestack_module_and_nothing_heavy() -> None:
    code = (
        "import sys; import lakestack.system_tables; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith("
        "('lakestack.', 'pyarrow', 'polars', 'deltalake', 'mlflow')))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["lakestack.errors", "lakestack.system_tables"]


def test_every_table_is_declared_once_and_builds_both_schemas() -> None:
    names = [spec.name for spec in ALL]
    assert len(names) == len(set(names))
    for spec in ALL:
        arrow = spec.arrow_schema()
        assert tuple(arrow.names) == spec.column_names
        assert tuple(spec.polars_schema()) == spec.column_names
        assert spec.mismatches(arrow) == []
        parts = {p: "Some-Name" for p in spec.placeholders}
        assert by_name(spec.table(**parts)) is spec


def test_a_name_pattern_takes_exactly_its_parts() -> None:
    assert INFERENCE.table(endpoint="Flights-Delay 2") == "inference.flights_delay_2"
    assert RUNS.table() == "system.runs"
    with pytest.raises(ValueError, match="endpoint"):
        INFERENCE.table()
    with pytest.raises(ValueError, match="no parts"):
        RUNS.table(endpoint="x")
    with pytest.raises(KeyError, match="not a system table"):
        by_name("silver.flights")


def test_a_declaration_with_an_unknown_type_or_key_is_refused() -> None:
    with pytest.raises(ValueError, match="decimal"):
        Column("x", "decimal")
    with pytest.raises(ValueError, match="keys"):
        SystemTable("system.x", (Column("a", "string"),), keys=("b",))
    with pytest.raises(ValueError, match="twice"):
        SystemTable("system.x", (Column("a", "string"), Column("a", "int64")))


def test_mismatches_name_the_missing_the_mistyped_and_the_undeclared_column() -> None:
    schema = pa.schema([("run_id", pa.int64()), ("surprise", pa.string())])
    problems = RUNS.mismatches(schema)
    assert "column 'run_id' is int64, not string" in problems
    assert "column 'job' is missing" in problems
    assert "column 'surprise' is not declared" in problems
    inputs = pa.schema([*INFERENCE.arrow_schema(), ("distance", pa.float64())])
    assert INFERENCE.mismatches(inputs) == []  # its inputs follow the declared columns


def test_the_run_and_transition_tables_written_are_the_declared_ones(lake: Lake) -> None:
    now = datetime.now(UTC)
    records = Records(lake)
    records.add_runs(
        [RunRecord("r1", "job", "dev", "running", "manual", {}, "local", None, False, now)]
    )
    records.add_task_runs([TaskRun("r1", "job", "dev", "t", 1, "succeeded", now, now)])
    append_transition(
        lake, new_transition(lake, model="m", stage="staging", action="promote", outcome="applied")
    )
    for spec in (RUNS, TASK_RUNS, MODEL_TRANSITIONS):
        assert spec.mismatches(lake.schema(spec.name)) == [], spec.name


def test_the_inference_table_written_is_the_declared_one(lake: Lake, tmp_path: Path) -> None:
    schema = InputSchema((InputColumn("distance", MLFLOW_TYPES["double"]),))
    log = InferenceLog(lake, "Flights-Delay", tmp_path / "spool", schema=schema)
    log.start()
    log.record(
        {
            "id": "r1",
            "ts": 1_700_000_000_000_000,
            "model": "m",
            "version": 1,
            "status": 200,
            "columns": ["distance", "carrier"],
            "rows": [[1400.0, "UA"]],
            "outputs": [0.5],
        }
    )
    log.close()
    table = lake.schema(INFERENCE.table(endpoint="Flights-Delay"))
    assert INFERENCE.mismatches(table) == []
    assert table.names[len(INFERENCE.columns) :] == ["distance", "inputs_json"]


def test_the_module_exports_what_it_declares() -> None:
    exported = list(system_tables.__all__)
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), n))
    declared = {n for n, v in vars(system_tables).items() if isinstance(v, SystemTable)}
    assert declared <= set(system_tables.__all__)
    assert {getattr(system_tables, n) for n in declared} == set(ALL)
