"""`log_model`: one MLflow run, one logged model and one registered version, with lineage."""

from __future__ import annotations

import dataclasses
import importlib
import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakestack.errors import RegistryError
from lakestack.lake import TableRef, code_version
from lakestack.registry._flavors import default_requirements, detect_flavor, save_options
from lakestack.registry._loader import LINEAGE_DIR
from lakestack.registry._problem import ModelProblem, model_evidence
from lakestack.registry._tracking import (
    check_model_name,
    create_version,
    ensure_experiment,
    to_info,
)
from lakestack.registry._types import TAG_PREFIX, Holdout, Lineage, ModelVersionInfo

if TYPE_CHECKING:
    from lakestack.metric_catalog import ProblemType
    from lakestack.registry._registry import ModelRegistry

__all__ = ["log_model", "spec_json", "spec_tables"]

_SIGNATURE_HELP = (
    "Pass signature=mlflow.models.infer_signature(X_train, model.predict(X_train)) (the "
    "training inputs and the model's outputs on them; model.predict_proba(X_train) for a "
    "classifier's probabilities), "
    "or build one with mlflow.models.ModelSignature. The signature is what serving validates "
    "requests against."
)


def spec_json(feature_spec: Any) -> str | None:
    """A feature spec as JSON: anything with `to_json()`, a mapping, or JSON text."""
    if feature_spec is None:
        return None
    if hasattr(feature_spec, "to_json"):
        text = feature_spec.to_json()
    elif isinstance(feature_spec, Mapping):
        text = json.dumps(dict(feature_spec), indent=2, sort_keys=True, default=str)
    elif isinstance(feature_spec, str | bytes):
        text = feature_spec.decode() if isinstance(feature_spec, bytes) else feature_spec
    else:
        raise RegistryError(
            f"feature_spec must be a FeatureSpec, a mapping or JSON text, not "
            f"{type(feature_spec).__name__}"
        )
    try:
        json.loads(text)
    except ValueError as exc:
        raise RegistryError(f"feature_spec is not valid JSON: {exc}") from exc
    return str(text)


def spec_tables(text: str) -> dict[str, int | None]:
    """The tables a feature spec names, with the version it read (None when unrecorded)."""
    doc = json.loads(text)
    versions = {str(k): int(v) for k, v in (doc.get("table_versions") or {}).items()}
    tables: dict[str, int | None] = {}
    for lookup in doc.get("lookups") or []:
        ref = TableRef.parse(str(lookup["table"]))
        name = str(ref.name)
        tables[name] = ref.version if ref.version is not None else versions.get(name)
    for name, version in versions.items():
        tables.setdefault(str(TableRef.parse(name).name), version)
    return tables


def _schema_json(data_schema: Any) -> str | None:
    if data_schema is None:
        return None
    if hasattr(data_schema, "to_json"):
        return str(data_schema.to_json(indent=2))
    if isinstance(data_schema, Mapping):
        return json.dumps(dict(data_schema), indent=2, sort_keys=True, default=str)
    return str(data_schema)


def _check_tables(reg: ModelRegistry, tables: Mapping[str, int | None], what: str) -> None:
    lake = reg.lake
    for name, version in tables.items():
        if not lake.exists(name):
            raise RegistryError(
                f"the {what} names table {name}, which does not exist in the "
                f"{lake.environment!r} lake ({lake.root}). Write the table first (see "
                "`lakestack tables list`), or fix the table name."
            )
        if version is not None and version > lake.version(name):
            raise RegistryError(
                f"the {what} records version {version} of table {name}, but its latest version "
                f"in the {lake.environment!r} lake is {lake.version(name)}"
            )


def log_model(
    reg: ModelRegistry,
    model: Any,
    name: str,
    *,
    signature: Any,
    input_example: Any = None,
    lineage: Lineage | None = None,
    problem: ProblemType | None = None,
    label: str | None = None,
    flavor: str | None = None,
    flavor_options: Mapping[str, Any] | None = None,
    pip_requirements: list[str] | None = None,
    description: str = "",
) -> ModelVersionInfo:
    """Log a trained model and register it as a new version, with its lineage and problem type.

    One MLflow run (params, metrics), one MLflow 3 logged model and one registered version
    are created. The version's tags carry the lineage (`lakestack.*`: code version, training
    tables and their Delta versions, training period, pipeline run id, holdout, metrics) and the
    problem type (`lakestack.problem`, with `lakestack.classes` for a classifier); the feature
    spec, the data schema and the lineage are stored as files beside the model
    (`lakestack/*.json`), so serving gets them with the model.

    Args:
        model: a model of any MLflow flavor (scikit-learn, LightGBM, ...).
        name: the registered model's name.
        signature: the MLflow `ModelSignature` (required). A scikit-learn classifier whose
            outputs are its class probabilities (`infer_signature(X, model.predict_proba(X))`)
            serves them; ROC AUC and log loss need them.
        input_example: a few input rows, stored and used by the infrastructure gate.
        lineage: where the version comes from (`Lineage`: training tables, holdout, training
            period, feature spec, data schema, run id, code version, entry point, params,
            metrics).
        problem: `binary`, `multiclass` or `regression` (default: `models.<name>.problem`,
            else what the model and the holdout's labels say).
        label: the label column (default: the holdout's, then `models.<name>.label`).
        flavor: the MLflow flavor (detected from the model's class by default).
        flavor_options: more arguments of the flavor's `save_model`, over lakestack's defaults
            (`predict_proba` for a classifier whose signature says so; skops trusts the model's
            types).
        pip_requirements: the model's requirements (default: the flavor's, pinned; no
            inference, which takes seconds).
        description: the version's description.

    Returns:
        The new version.

    Raises:
        RegistryError: no signature; a feature spec, training table or holdout naming a
            table that is not in the lake; an unknown flavor; a problem type that cannot be
            told or that the model or labels contradict.

    Example:
        >>> registry.log_model(booster, "flights_delay", signature=signature,
        ...     input_example=X.head(5),
        ...     lineage=Lineage(holdout=Holdout("gold.flights_training", 3, "delayed")))
        ... # doctest: +SKIP
    """
    from lakestack.access import authorize_writer

    check_model_name(name)
    authorize_writer(reg.project, "model.log", reg.lake, name)
    if signature is None:
        raise RegistryError(f"model {name!r} has no signature, so it is refused. {_SIGNATURE_HELP}")
    lineage = lineage or Lineage()
    spec = spec_json(lineage.feature_spec)
    tables, spec_tables_read, holdout = _checked_tables(reg, lineage, spec)
    if lineage.entry_point is not None and ":" not in lineage.entry_point:
        raise RegistryError(
            f"entry_point {lineage.entry_point!r} is not of the form module:function"
        )
    flavor = flavor or detect_flavor(model, signature)
    try:
        module = importlib.import_module(f"mlflow.{flavor}")
    except ImportError as exc:
        raise RegistryError(f"MLflow has no flavor {flavor!r}: {exc}") from exc
    config = reg.model_config(name)
    if problem is not None and config.problem is not None and problem != config.problem:
        raise RegistryError(
            f"problem={problem!r} contradicts models.{name}.problem: {config.problem}"
        )
    label = label or (holdout.label if holdout else None) or config.label
    target = ModelProblem.decide(
        name,
        declared=problem or config.problem,
        evidence=model_evidence(model),
        labels=None if holdout is None else _labels(reg, holdout),
    )
    options = save_options(
        flavor,
        model,
        classifier=target.problem != "regression",
        options=dict(flavor_options or {}),
        signature=signature,
    )
    record = _record(reg, lineage, tables, sorted(spec_tables_read), holdout, label)
    record.update(target.tags())
    return _register(
        reg,
        name,
        model,
        module,
        flavor,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements or default_requirements(flavor, module),
        flavor_options=options,
        files={
            "feature_spec.json": spec,
            "data_schema.json": _schema_json(lineage.data_schema),
            "lineage.json": json.dumps(record, indent=2, sort_keys=True, default=str),
        },
        tags=_tags(record),
        metrics=record["metrics"],
        params=record["params"],
        description=description,
    )


def _checked_tables(
    reg: ModelRegistry, lineage: Lineage, spec: str | None
) -> tuple[dict[str, int], dict[str, int | None], Holdout | None]:
    """The training tables (the feature spec's included), checked to exist, and the holdout
    stamped with its environment."""
    spec_refs = spec_tables(spec) if spec else {}
    _check_tables(reg, spec_refs, "feature spec")
    tables: dict[str, int] = {k: v for k, v in spec_refs.items() if v is not None}
    for table, version in lineage.training_tables.items():
        tables[str(TableRef.parse(table).name)] = int(version)
    _check_tables(reg, {k: tables[k] for k in tables if k not in spec_refs}, "training tables")
    holdout = lineage.holdout
    if holdout is not None and holdout.environment in (None, reg.lake.environment):
        _check_tables(reg, {holdout.table: holdout.version}, "holdout")
        # Recorded with its environment, so a copy in another environment reads the same rows.
        holdout = dataclasses.replace(holdout, environment=reg.lake.environment)
    return tables, spec_refs, holdout


def _labels(reg: ModelRegistry, holdout: Holdout) -> Any:
    """The holdout's label values (only that column is read), or None when it has none."""
    from lakestack.registry._gates import read_holdout

    if holdout.label not in reg.lake.schema(holdout.table, _other_env(reg, holdout)).names:
        return None
    return read_holdout(reg, holdout, columns=[holdout.label]).get_column(holdout.label)


def _other_env(reg: ModelRegistry, holdout: Holdout) -> str | None:
    return holdout.environment if holdout.environment != reg.lake.environment else None


def _record(
    reg: ModelRegistry,
    lineage: Lineage,
    tables: dict[str, int],
    feature_tables: list[str],
    holdout: Holdout | None,
    label: str | None,
) -> dict[str, Any]:
    """The lineage document: `lineage.json`, and the version's `lakestack.*` tags."""
    from lakestack.registry._reproduce import git_location

    code = lineage.code or code_version(reg.project.root)
    location = git_location(reg.project.root)
    period = lineage.training_period
    return {
        "environment": reg.environment.name,
        "principal": reg.lake.context.principal,
        "pipeline_run_id": lineage.pipeline_run_id or reg.lake.context.run_id,
        "code_commit": code.commit,
        "code_dirty": code.dirty,
        "code_path": None if location is None else location[1],
        "training_tables": tables,
        "training_period": None if period is None else json.loads(period.to_json()),
        "feature_tables": feature_tables,
        "holdout": None if holdout is None else json.loads(holdout.to_json()),
        "label": label,
        "entry_point": lineage.entry_point,
        "params": {k: _plain(v) for k, v in lineage.params.items()},
        "metrics": {k: float(v) for k, v in lineage.metrics.items()},
    }


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def _tags(lineage: Mapping[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key, value in lineage.items():
        if value is None:
            continue
        if isinstance(value, dict | list):
            text = json.dumps(value, sort_keys=True, default=str)
        elif isinstance(value, bool):
            text = str(value).lower()
        else:
            text = str(value)
        tags[TAG_PREFIX + key] = text[:5000]
    return tags


def _register(
    reg: ModelRegistry,
    name: str,
    model: Any,
    module: Any,
    flavor: str,
    *,
    signature: Any,
    input_example: Any,
    pip_requirements: list[str],
    flavor_options: dict[str, Any],
    files: Mapping[str, str | None],
    tags: dict[str, str],
    metrics: Mapping[str, float],
    params: Mapping[str, Any],
    description: str,
) -> ModelVersionInfo:
    from mlflow.entities import LoggedModelOutput, LoggedModelStatus, Metric, Param
    from mlflow.models import Model

    client = reg.client
    experiment_id = ensure_experiment(
        client, reg.experiment_name(name), reg.environment, reg.project.state_dir
    )
    run_tags = {**tags, "mlflow.user": reg.lake.context.principal}
    run = client.create_run(experiment_id, run_name=f"{name} training", tags=run_tags)
    run_id = run.info.run_id
    logged = None
    try:
        logged = client.create_logged_model(
            experiment_id, name=name, source_run_id=run_id, tags=tags
        )
        client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[
                Metric(k, float(v), now, 0, model_id=logged.model_id) for k, v in metrics.items()
            ],
            params=[Param(k, str(v)[:6000]) for k, v in params.items()],
        )
        meta = Model(
            artifact_path=logged.artifact_location,
            model_uuid=logged.model_id,
            run_id=run_id,
            model_id=logged.model_id,
        )
        with tempfile.TemporaryDirectory(prefix="lakestack-model-") as tmp:
            path = Path(tmp) / "model"
            kwargs: dict[str, Any] = {
                "mlflow_model": meta,
                "signature": signature,
                "input_example": input_example,
                "pip_requirements": pip_requirements,
                **flavor_options,
            }
            if flavor == "pyfunc":
                module.save_model(path=str(path), python_model=model, **kwargs)
            else:
                module.save_model(model, str(path), **kwargs)
            (path / LINEAGE_DIR).mkdir(exist_ok=True)
            for file, text in files.items():
                if text is not None:
                    (path / LINEAGE_DIR / file).write_text(text, encoding="utf-8")
            client.log_model_artifacts(logged.model_id, str(path))
        client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
        mv = create_version(
            client,
            name,
            logged,
            run_id=run_id,
            tags=tags,
            description=description,
            model_description=reg.model_config(name).description,
        )
    except Exception as exc:
        client.set_terminated(run_id, "FAILED")
        if logged is not None:
            client.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)
        if isinstance(exc, RegistryError):
            raise
        raise RegistryError(f"logging model {name!r} ({flavor}) failed: {exc}") from exc
    client.set_terminated(run_id, "FINISHED")
    return to_info(mv)
