"""Realistic typos in the flights project file: `validate` names the key path and the fix.

Each case changes the example project's `lakestack.yaml` the way a hurried user would, and
expects a problem at the key path of the typo whose message says what to write instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lakestack.config import PROJECT_FILE, validate_project_file
from lakestack.templates import scaffold

# (id, [(text in the example file, what the typo makes of it)], key path, words of the fix)
TYPOS: list[tuple[str, list[tuple[str, str]], str, str]] = [
    (
        "endpoint-model",
        [("    model: flights_delay\n    stage:", "    model: flights_dely\n    stage:")],
        "endpoints.flights_delay.model",
        "did you mean 'flights_delay'",
    ),
    (
        "monitor-model",
        [("    model: flights_delay\n    time_column", "    model: flight_delay\n    time_column")],
        "monitors.flights_delay.model",
        "did you mean 'flights_delay'",
    ),
    (
        "monitor-table",
        [("table: inference.flights_delay", "table: inference.flight_delay")],
        "monitors.flights_delay.table",
        "did you mean 'inference.flights_delay'",
    ),
    (
        "monitor-table-name",
        [("table: inference.flights_delay", "table: inference/flights_delay")],
        "monitors.flights_delay.table",
        "<schema>.<table>",
    ),
    (
        "monitor-time-column-not-a-timestamp",
        [("time_column: sched_dep_ts", "time_column: flight_id")],
        "monitors.flights_delay.time_column",
        "timestamp",
    ),
    (
        "label-table-name",
        [("labels: {table: labels.flights_delay", "labels: {table: flights_delay")],
        "monitors.flights_delay.labels.table",
        "<schema>.<table>",
    ),
    (
        "label-column-left-out",
        [("keys: [flight_id], column: delayed}", "keys: [flight_id]}")],
        "monitors.flights_delay.labels.column",
        "column: delayed",
    ),
    (
        "label-column-differs-from-the-model",
        [("keys: [flight_id], column: delayed}", "keys: [flight_id], column: delay}")],
        "monitors.flights_delay.labels.column",
        "models.flights_delay.label",
    ),
    (
        "rule-grammar-words",
        [("in 2 of the last 3 windows", "in 2 of last 3 windows")],
        "monitors.flights_delay.alerts[0].when",
        "in <n> of the last <m> windows",
    ),
    (
        "rule-grammar-operator",
        [("drift.psi > 0.25", "drift.psi => 0.25")],
        "monitors.flights_delay.alerts[0].when",
        "[on any feature | on <column>]",
    ),
    (
        "rule-table",
        [("quality.roc_auc < 0.65", "qualty.roc_auc < 0.65")],
        "monitors.flights_delay.alerts[1].when",
        "use one of drift, profile, quality",
    ),
    (
        "rule-metric",
        [("drift.psi > 0.25", "drift.pis > 0.25")],
        "monitors.flights_delay.alerts[0].when",
        "psi",
    ),
    (
        "rule-metric-of-another-problem",
        [
            ("    label: delayed\n", "    label: delayed\n    problem: binary\n"),
            ("quality.roc_auc < 0.65", "quality.rmse > 0.5"),
        ],
        "monitors.flights_delay.alerts[1].when",
        "roc_auc",
    ),
    (
        "rule-window-count",
        [("in 5 of the last 7 windows", "in 7 of the last 5 windows")],
        "monitors.flights_delay.alerts[1].when",
        "1 <= 7 <= 5",
    ),
    (
        "rule-quality-on-column",
        [("quality.roc_auc < 0.65 in", "quality.roc_auc < 0.65 on origin in")],
        "monitors.flights_delay.alerts[1].when",
        "drop `on origin`",
    ),
    (
        "rule-on-a-column-the-monitor-does-not-measure",
        [
            ("    slices: [origin]\n", "    columns: [temp, wind_speed]\n    slices: [origin]\n"),
            ("on any feature", "on wind_sped"),
        ],
        "monitors.flights_delay.alerts[0].when",
        "did you mean 'wind_speed'",
    ),
    (
        "retrain-target",
        [("{retrain: retraining}", "{retrain: retrainig}")],
        "monitors.flights_delay.alerts[1].actions[1].retrain",
        "did you mean 'retraining'",
    ),
    (
        "log-level",
        [("actions: [{log: warning}]", "actions: [{log: warn}]")],
        "monitors.flights_delay.alerts[0].actions[0].log",
        "'warning'",
    ),
    (
        "webhook-url",
        [("actions: [{log: warning}]", "actions: [{webhook: hooks.example.com/alerts}]")],
        "monitors.flights_delay.alerts[0].actions[0].webhook",
        "https://hooks.example.com/alerts",
    ),
    (
        "two-kinds-in-one-action",
        [("[{log: warning}, {retrain: retraining}]", "[{log: warning, retrain: retraining}]")],
        "monitors.flights_delay.alerts[1].actions[0]",
        "exactly one of `log`, `webhook`, `retrain`",
    ),
    (
        "baseline-file",
        [("baseline: {stage: production}", "baseline: {schema_file: baselines/winter.json}")],
        "monitors.flights_delay.baseline.schema_file",
        "lakestack data profile",
    ),
    (
        "baseline-stage",
        [("baseline: {stage: production}", "baseline: {stage: prod}")],
        "monitors.flights_delay.baseline.stage",
        "'production'",
    ),
    (
        "monitor-window",
        [("window: 1d", "window: 1 day")],
        "monitors.flights_delay.window",
        "`1h` or `1d`",
    ),
    (
        "monitor-key",
        [("time_column: sched_dep_ts", "time_colum: sched_dep_ts")],
        "monitors.flights_delay.time_colum",
        "did you mean 'time_column'",
    ),
    (
        "task-dependency",
        [("depends_on: [bronze_flights]", "depends_on: [bronze_flight]")],
        "jobs.ingest.tasks[5].depends_on",
        "known tasks",
    ),
    (
        "task-run",
        [('run: "flights_ml.training:prepare"', 'run: "flights_ml.training.prepare"')],
        "jobs.training.tasks[0].run",
        "module:function",
    ),
    (
        "schedule",
        [('schedule: "30 6 * * *"', 'schedule: "30 6 * *"')],
        "jobs.monitoring.schedule",
        "5-field cron",
    ),
    (
        "trigger-table",
        [
            (
                "  monitoring:\n    description:",
                "  monitoring:\n    triggers: [{on_table_update: Silver.flights}]\n    description:",
            ),
        ],
        "jobs.monitoring.triggers[0].on_table_update",
        "lower case",
    ),
    (
        "gate-metric",
        [("regression: {metric: roc_auc", "regression: {metric: auc")],
        "models.flights_delay.gates.regression.metric",
        "roc_auc",
    ),
    (
        "gate-threshold",
        [('"roc_auc >= 0.65"', '"roc_auc => 0.65"')],
        "models.flights_delay.gates.thresholds",
        "metric op number",
    ),
    (
        "endpoint-stage",
        [("    stage: production\n    port", "    stage: prod\n    port")],
        "endpoints.flights_delay.stage",
        "'production'",
    ),
    (
        "endpoint-context-type",
        [("sched_dep_ts: timestamp,", "sched_dep_ts: datetime,")],
        "endpoints.flights_delay.context_columns.sched_dep_ts",
        "'timestamp'",
    ),
    (
        "default-environment",
        [("default_environment: dev", "default_environment: develop")],
        "default_environment",
        "use one of dev, prod, staging",
    ),
    (
        "role-environment",
        [
            (
                "default_environment: dev\n",
                "default_environment: dev\naccess:\n  principals:\n"
                "    ci: {roles: {production: deployer}}\n",
            )
        ],
        "access.principals.ci.roles.production",
        "use one of dev, prod, staging",
    ),
]


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("flights")
    scaffold("flights", folder, name="flights")
    return (folder / PROJECT_FILE).read_text()


def test_the_example_itself_is_valid(example: str, tmp_path: Path) -> None:
    (tmp_path / PROJECT_FILE).write_text(example)
    assert validate_project_file(tmp_path)[1] == []


@pytest.mark.parametrize(
    ("changes", "key", "fix"), [t[1:] for t in TYPOS], ids=[t[0] for t in TYPOS]
)
def test_a_typo_is_reported_at_its_key_with_the_fix(
    example: str, tmp_path: Path, changes: list[tuple[str, str]], key: str, fix: str
) -> None:
    text = example
    for old, new in changes:
        assert old in text, f"the example no longer has {old!r}; update this case"
        text = text.replace(old, new, 1)
    (tmp_path / PROJECT_FILE).write_text(text)
    (tmp_path / "flights_ml").mkdir()
    problems: dict[str, list[str]] = {}
    for problem in validate_project_file(tmp_path)[1]:
        problems.setdefault(problem.key, []).append(problem.message)
    assert key in problems, f"no problem at {key}; got {problems}"
    assert len(problems[key]) == 1, f"one typo, one problem: {problems[key]}"
    assert fix in problems[key][0]


def test_a_rule_on_a_column_outside_the_baseline_file_is_reported(
    example: str, tmp_path: Path
) -> None:
    import polars as pl

    from lakestack.validation import Schema, infer_schema

    baseline: Schema = infer_schema(pl.DataFrame({"temp": [1.0, 2.0], "wind_speed": [3.0, 4.0]}))
    baseline.save(tmp_path / "winter.json")
    text = example.replace("baseline: {stage: production}", "baseline: {schema_file: winter.json}")
    (tmp_path / PROJECT_FILE).write_text(text.replace("on any feature", "on wind_sped"))
    problems = {p.key: p.message for p in validate_project_file(tmp_path)[1]}
    message = problems["monitors.flights_delay.alerts[0].when"]
    assert "columns of its baseline winter.json (temp, wind_speed)" in message
    assert "did you mean 'wind_speed'" in message
    (tmp_path / PROJECT_FILE).write_text(text.replace("on any feature", "on wind_speed"))
    assert validate_project_file(tmp_path)[1] == []
