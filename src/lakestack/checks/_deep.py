"""The deep checks: the names of `lakestack.yaml` against the environment's lake and registry.

Each check returns problems (the file, the key path, what is missing and how to fix it); none
raises for what it finds. A table or a model that does not exist yet is reported too: a monitor
of a table nobody writes, or an endpoint of a model nobody registered, cannot work either.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from lakestack.config import MonitorConfig, Problem, Project
from lakestack.errors import LakestackError
from lakestack.lake import Lake
from lakestack.rule_grammar import parse_rule

if TYPE_CHECKING:
    import pyarrow as pa

    from lakestack.registry import ModelRegistry

__all__ = ["deep_problems"]

Found = Iterator[tuple[str, str]]


def deep_problems(project: Project, env: str | None = None) -> list[Problem]:
    """Every name of the project file that the environment's lake or registry does not have.

    Args:
        project: a project whose file is valid.
        env: the environment to check (default: the project's default).

    Returns:
        The problems, each naming the key path of the file.
    """
    environment = project.environment(env).name
    lake = Lake.for_environment(project, environment)
    found: list[tuple[str, str]] = []
    config = project.config
    registered: list[str] = []
    if config.endpoints or config.monitors or any(m.label for m in config.models.values()):
        from lakestack.registry import ModelRegistry

        registry = ModelRegistry(project, environment)
        registered = [model.name for model in registry.models()]
        found.extend(_model_problems(project, registry, registered, lake))
    for name, job in config.jobs.items():
        for i, trigger in enumerate(job.triggers):
            table = trigger.on_table_update
            if table is not None and not lake.exists(table):
                found.append(
                    (
                        f"jobs.{name}.triggers[{i}].on_table_update",
                        f"{table} does not exist in the {environment!r} lake, so no new "
                        "version of it will start the job; check the name with `lakestack "
                        "tables list`, or run the job that writes it first",
                    )
                )
    for name, monitor in config.monitors.items():
        where = f"monitors.{name}"
        found.extend(_monitor_problems(project, environment, lake, where, monitor))
        if monitor.baseline.schema_file or monitor.model in registered:
            found.extend(_rule_columns(project, environment, lake, where, monitor))
    return [Problem(project.file, key, message) for key, message in found]


def _hint(value: str, known: list[str]) -> str:
    close = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def _model_problems(
    project: Project, registry: ModelRegistry, registered: list[str], lake: Lake
) -> Found:
    env = registry.environment.name
    for section, entries in (
        ("endpoints", project.config.endpoints),
        ("monitors", project.config.monitors),
    ):
        for name, entry in entries.items():
            if entry.model not in registered:
                yield (
                    f"{section}.{name}.model",
                    f"model {entry.model!r} is not registered in the {env!r} registry; "
                    f"{_hint(entry.model, registered)}registered: {', '.join(registered) or 'none'} "
                    "(train and register a version first, e.g. with the training job)",
                )
    for name, endpoint in project.config.endpoints.items():
        if (
            endpoint.model in registered
            and registry.alias_holder(endpoint.model, endpoint.stage) is None
        ):
            yield (
                f"endpoints.{name}.stage",
                f"no version of {endpoint.model!r} holds {endpoint.stage!r} in the {env!r} "
                f"registry, so the endpoint has nothing to serve; promote one with `lakestack "
                f"models promote {endpoint.model} VERSION --to {endpoint.stage} --env {env}`",
            )
    for name, model in project.config.models.items():
        wanted = [("label", model.label)] if model.label else []
        if model.gates.slices is not None:
            wanted += [
                (f"gates.slices.columns[{i}]", c) for i, c in enumerate(model.gates.slices.columns)
            ]
        if wanted and name in registered:
            yield from _holdout_columns(registry, lake, name, wanted)


def _holdout_columns(
    registry: ModelRegistry, lake: Lake, model: str, wanted: list[tuple[str, str]]
) -> Found:
    """The label and slice columns the gates read are columns of the latest holdout."""
    versions = registry.versions(model)
    latest = next((v for v in versions if v.holdout is not None), None)
    if latest is None or latest.holdout is None:
        return
    holdout = latest.holdout
    try:
        columns = (
            lake.open(holdout.table, version=holdout.version, environment=holdout.environment)
            .schema()
            .fields
        )
    except LakestackError:
        return  # the holdout's own table is gone; the gates say so when they run
    names = [field.name for field in columns]
    for key, column in wanted:
        if column not in names:
            yield (
                f"models.{model}.{key}",
                f"{column!r} is not a column of {holdout.table}@{holdout.version}, the holdout "
                f"of version {latest.version}; {_hint(column, names)}its columns: "
                f"{', '.join(names)}",
            )


def _schema(lake: Lake, table: str) -> pa.Schema | None:
    return lake.schema(table) if lake.exists(table) else None


def _columns_in(where: str, table: str, schema: pa.Schema, wanted: list[tuple[str, str]]) -> Found:
    names = list(schema.names)
    for key, column in wanted:
        if column not in names:
            yield (
                f"{where}.{key}",
                f"{table} has no column {column!r}; {_hint(column, names)}its columns: "
                f"{', '.join(names)}",
            )


def _monitor_problems(
    project: Project, env: str, lake: Lake, where: str, monitor: MonitorConfig
) -> Found:
    schema = _schema(lake, monitor.table)
    if schema is None:
        yield (
            f"{where}.table",
            f"{monitor.table} does not exist in the {env!r} lake; an endpoint writes its "
            "inference table at its first request (`lakestack serve ENDPOINT`); check the name "
            "with `lakestack tables list`",
        )
    else:
        wanted = [
            ("time_column", monitor.time_column),
            ("prediction_column", monitor.prediction_column),
        ]
        wanted += [(f"slices[{i}]", c) for i, c in enumerate(monitor.slices)]
        wanted += [(f"columns[{i}]", c) for i, c in enumerate(monitor.columns or [])]
        if monitor.labels is not None:
            wanted += [(f"labels.keys[{i}]", c) for i, c in enumerate(monitor.labels.keys)]
        yield from _columns_in(where, monitor.table, schema, wanted)
    if monitor.labels is not None:
        labels = _schema(lake, monitor.labels.table)
        if labels is None:
            yield (
                f"{where}.labels.table",
                f"{monitor.labels.table} does not exist in the {env!r} lake; check the name "
                "with `lakestack tables list`, or write the labels there first",
            )
        else:
            wanted = [("labels.column", monitor.labels.column)]
            wanted += [(f"labels.keys[{i}]", c) for i, c in enumerate(monitor.labels.keys)]
            yield from _columns_in(where, monitor.labels.table, labels, wanted)


def _rule_columns(
    project: Project, env: str, lake: Lake, where: str, monitor: MonitorConfig
) -> Found:
    """The baseline loads, and each rule's `on <column>` is a column the monitor measures."""
    from lakestack.monitoring import load_baseline, monitored_columns

    try:
        baseline = load_baseline(project, monitor, env)
    except LakestackError as exc:
        yield f"{where}.baseline", str(exc)
        return
    schema = _schema(lake, monitor.table)
    if schema is None:
        return  # reported with the table
    try:
        measured = monitored_columns(monitor, list(schema.names), baseline)
    except LakestackError:
        return  # a declared column the table lacks: reported with the columns
    for i, rule in enumerate(monitor.alerts):
        column = parse_rule(rule.when, rule.name).column
        if column is not None and column not in measured:
            yield (
                f"{where}.alerts[{i}].when",
                f"`on {column}`: the monitor measures no column {column!r} of {monitor.table}; "
                f"{_hint(column, measured)}it measures {', '.join(measured) or 'nothing'}",
            )
