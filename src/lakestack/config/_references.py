"""References between the sections of a project file, checked as far as the file can tell.

A name that one section gives and another must know (an endpoint's model, a monitor's table,
a `retrain:` action's job, a label column, a rule's column) is checked here, on the parsed YAML,
so that a typo is reported by `lakestack validate` with its key path instead of surfacing as a
run that logs and does nothing. What only the lake or the registry can tell (the columns of a
table that exists, the versions of a model) is left to `lakestack validate --deep`.

A rule of thumb keeps these checks certain: a name is checked against a section only when the
file declares that section (a project with no `models:` may serve any registered model).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lakestack.errors import MonitoringError
from lakestack.rule_grammar import parse_rule
from lakestack.system_tables import INFERENCE

__all__ = ["reference_problems"]

_TABLE = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
_DEFAULT_LABEL_COLUMN = "label"
Found = Iterator[tuple[str, str]]


def reference_problems(data: dict[str, Any], root: Path) -> list[tuple[str, str]]:
    """`(key path, message)` for every reference of the file that names nothing.

    Args:
        data: the parsed `lakestack.yaml` (sections may be invalid; those are skipped).
        root: the project folder, against which file paths resolve.
    """
    found = list(_model_references(data))
    for name, monitor in _items(data.get("monitors")):
        if isinstance(monitor, dict):
            found.extend(_monitor_problems(data, root, f"monitors.{name}", monitor))
    return found


def _items(value: Any) -> list[tuple[str, Any]]:
    return [(str(k), v) for k, v in value.items()] if isinstance(value, dict) else []


def _hint(value: str, known: list[str]) -> str:
    close = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def _model_references(data: dict[str, Any]) -> Found:
    models = sorted(name for name, _ in _items(data.get("models")))
    if not models:
        return
    for section in ("endpoints", "monitors"):
        for name, entry in _items(data.get(section)):
            model = entry.get("model") if isinstance(entry, dict) else None
            if isinstance(model, str) and model not in models:
                yield (
                    f"{section}.{name}.model",
                    f"{model!r} is not a model of this project; {_hint(model, models)}"
                    f"models declared under `models:`: {', '.join(models)} (declare it there, "
                    f"e.g. `{model}: {{}}`, if it is registered by other means)",
                )


def _endpoint_of(data: dict[str, Any], table: str) -> tuple[str, dict[str, Any]] | None:
    for name, endpoint in _items(data.get("endpoints")):
        if isinstance(endpoint, dict) and INFERENCE.table(endpoint=name) == table:
            return name, endpoint
    return None


def _logged_columns(endpoint: dict[str, Any] | None) -> dict[str, str]:
    """The columns (and their types) an endpoint logs whatever its model's inputs are."""
    columns = {column.name: column.type for column in INFERENCE.columns}
    context = endpoint.get("context_columns") if endpoint else None
    for name, kind in _items(context):
        columns[name] = str(kind)
    return columns


def _monitor_problems(
    data: dict[str, Any], root: Path, where: str, monitor: dict[str, Any]
) -> Found:
    table = monitor.get("table")
    endpoint: dict[str, Any] | None = None
    if isinstance(table, str):
        yield from _monitor_table(data, where, monitor, table)
        found = _endpoint_of(data, table)
        endpoint = found[1] if found else None
    columns = _logged_columns(endpoint) if endpoint is not None else {}
    time_column = monitor.get("time_column", "ts")
    kind = columns.get(time_column) if isinstance(time_column, str) else None
    if kind not in (None, "timestamp"):
        yield (
            f"{where}.time_column",
            f"{time_column!r} is a {kind} column of {table}; windows cut on a timestamp: use "
            "`ts` (when the request arrived) or a context column declared `timestamp` in the "
            "endpoint's context_columns",
        )
    yield from _labels(data, where, monitor)
    yield from _baseline(root, where, monitor)
    for i, rule in enumerate(monitor.get("alerts") or []):
        if isinstance(rule, dict):
            yield from _rule(data, f"{where}.alerts[{i}]", _measured(root, monitor), rule)


def _monitor_table(data: dict[str, Any], where: str, monitor: dict[str, Any], table: str) -> Found:
    if not _TABLE.match(table):
        yield (
            f"{where}.table",
            f"{table!r} is not a table name: write <schema>.<table> in lower case, e.g. "
            "inference.<endpoint> for an endpoint's log",
        )
        return
    endpoints = [name for name, _ in _items(data.get("endpoints"))]
    found = _endpoint_of(data, table)
    if found is None:
        if table.startswith("inference.") and endpoints:
            logs = [INFERENCE.table(endpoint=name) for name in endpoints]
            yield (
                f"{where}.table",
                f"{table} is the log of no endpoint of this project; {_hint(table, logs)}"
                f"the endpoints log to {', '.join(logs)}",
            )
        return
    name, endpoint = found
    served, watched = endpoint.get("model"), monitor.get("model")
    models = dict(_items(data.get("models")))
    if models and (watched not in models or served not in models):
        return  # reported as an unknown model
    if isinstance(served, str) and isinstance(watched, str) and served != watched:
        yield (
            f"{where}.model",
            f"{table} holds the predictions of {served!r} (endpoints.{name}.model), not of "
            f"{watched!r}; write model: {served}",
        )


def _labels(data: dict[str, Any], where: str, monitor: dict[str, Any]) -> Found:
    labels = monitor.get("labels")
    if not isinstance(labels, dict):
        return
    table = labels.get("table")
    if isinstance(table, str) and not _TABLE.match(table):
        yield (
            f"{where}.labels.table",
            f"{table!r} is not a table name: write <schema>.<table> in lower case, e.g. "
            "labels.flights_delay",
        )
    model_name = monitor.get("model")
    model = (
        dict(_items(data.get("models"))).get(model_name) if isinstance(model_name, str) else None
    )
    label = model.get("label") if isinstance(model, dict) else None
    if not isinstance(label, str):
        return
    column = labels.get("column")
    if column is None and label != _DEFAULT_LABEL_COLUMN:
        yield (
            f"{where}.labels.column",
            f"is left out, so the monitor reads column {_DEFAULT_LABEL_COLUMN!r} of the label "
            f"table, but model {model_name!r} is scored on {label!r} "
            f"(models.{model_name}.label): write `column: {label}`",
        )
    elif isinstance(column, str) and column != label:
        yield (
            f"{where}.labels.column",
            f"{column!r} is not the label of model {model_name!r}, which its gates score on "
            f"{label!r} (models.{model_name}.label): write `column: {label}`, or correct "
            f"models.{model_name}.label",
        )


def _baseline(root: Path, where: str, monitor: dict[str, Any]) -> Found:
    baseline = monitor.get("baseline")
    schema_file = baseline.get("schema_file") if isinstance(baseline, dict) else None
    if isinstance(schema_file, str) and not (root / schema_file).is_file():
        yield (
            f"{where}.baseline.schema_file",
            f"{schema_file} does not exist in the project folder {root}; write it with "
            f"`lakestack data profile TABLE --out {schema_file}`, or leave schema_file out to "
            "use the statistics stored with the model version",
        )


def _measured(root: Path, monitor: dict[str, Any]) -> tuple[list[str], str] | None:
    """The columns a monitor can measure, as far as the files tell, and where that comes from."""
    columns = monitor.get("columns")
    if isinstance(columns, list):
        return [str(c) for c in columns], "the monitor measures only its columns"
    baseline = monitor.get("baseline")
    schema_file = baseline.get("schema_file") if isinstance(baseline, dict) else None
    if not isinstance(schema_file, str):
        return None
    try:  # a baseline written by `lakestack data profile`: {"columns": [{"name": ...}, ...]}
        doc = json.loads((root / schema_file).read_text(encoding="utf-8"))
        names = [str(column["name"]) for column in doc["columns"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a missing file is reported with the baseline; a bad one when it is read
    return names, f"the monitor measures only columns of its baseline {schema_file}"


def _rule(
    data: dict[str, Any],
    where: str,
    measured: tuple[list[str], str] | None,
    rule: dict[str, Any],
) -> Found:
    when, name = rule.get("when"), str(rule.get("name", ""))
    if isinstance(when, str):
        try:
            condition = parse_rule(when, name)
        except MonitoringError as exc:
            yield f"{where}.when", str(exc)
        else:
            column = condition.column
            if column is not None and measured is not None and column not in measured[0]:
                known, source = measured
                yield (
                    f"{where}.when",
                    f"`on {column}`: {source} ({', '.join(known)}); {_hint(column, known)}"
                    "name one of them, or `on any feature`",
                )
    for i, action in enumerate(rule.get("actions") or []):
        if isinstance(action, dict):
            yield from _action(data, f"{where}.actions[{i}]", action)


def _action(data: dict[str, Any], where: str, action: dict[str, Any]) -> Found:
    target, url = action.get("retrain"), action.get("webhook")
    if isinstance(target, str):
        jobs = dict(_items(data.get("jobs")))
        events = sorted(
            {
                str(trigger.get("on_event"))
                for job in jobs.values()
                if isinstance(job, dict)
                for trigger in job.get("triggers") or []
                if isinstance(trigger, dict) and trigger.get("on_event")
            }
        )
        if target not in jobs and target not in events:
            yield (
                f"{where}.retrain",
                f"{target!r} is neither a job nor an event a job triggers on, so the alert "
                f"would retrain nothing; {_hint(target, [*jobs, *events])}jobs: "
                f"{', '.join(sorted(jobs)) or 'none'}; events: {', '.join(events) or 'none'} "
                "(or add `triggers: [{on_event: " + target + "}]` to a job)",
            )
    if isinstance(url, str) and not url.startswith(("http://", "https://")):
        yield (
            f"{where}.webhook",
            f"{url!r} is not an http(s) URL; write the whole address, e.g. https://{url}",
        )
