"""`log_model`: one MLflow run, one logged model and one registered version, with lineage."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakestack.errors import RegistryError
from lakestack.lake import CodeVersion, TableRef, code_version
from lakestack.registry._loader import LINEAGE_DIR
from lakestack.registry._tracking import (
    check_model_name,
    ensure_experiment,
    ensure_registered_model,
    to_info,
)
from lakestack.registry._types import TAG_PREFIX, Holdout, ModelVersionInfo

if TYPE_CHECKING:
    from lakestack.registry._registry import ModelRegistry

__all__ = ["detect_flavor", "log_model", "spec_json", "spec_tables"]

# Model classes' top-level package -> MLflow flavor module name.
_FLAVORS = {
    "lightgbm": "lightgbm",
    "sklearn": "sklearn",
    "xgboost": "xgboost",
    "catboost": "catboost",
    "torch": "pytorch",
    "keras": "keras",
    "tensorflow": "tensorflow",
    "statsmodels": "statsmodels",
    "prophet": "prophet",
    "mlflow": "pyfunc",
}
# Flavors whose scikit-learn-style models MLflow serialises with skops by default.
_SKOPS_FLAVORS = frozenset({"sklearn", "lightgbm", "xgboost"})

_SIGNATURE_HELP = (
    "Pass signature=mlflow.models.infer_signature(X_train, model.predict(X_train)) (the "
    "training inputs and the model's outputs on them), or build one with "
    "mlflow.models.ModelSignature. The signature is what serving validates requests against."
)


def detect_flavor(model: Any) -> str:
    """The MLflow flavor for a model object, from the package that defines its class."""
    import mlflow.pyfunc

    if isinstance(model, mlflow.pyfunc.PythonModel):
        return "pyfunc"
    for klass in type(model).__mro__:
        package = klass.__module__.split(".")[0]
        if package in _FLAVORS:
            return _FLAVORS[package]
    raise RegistryError(
        f"cannot tell the MLflow flavor of a {type(model).__module__}.{type(model).__name__}; "
        "pass flavor='sklearn' (or lightgbm, xgboost, pytorch, pyfunc, ...)"
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


def _pinned(package: str) -> str | None:
    try:
        return f"{package}=={importlib.metadata.version(package)}"
    except importlib.metadata.PackageNotFoundError:
        return None


def default_requirements(flavor: str, module: Any) -> list[str]:
    """The flavor's default requirements, pinned to the installed versions, without inference.

    MLflow infers requirements by importing the model in a subprocess, which takes seconds;
    the flavor's defaults are what that inference finds for plain models.
    """
    found = getattr(module, "get_default_pip_requirements", None)
    requirements = list(found()) if callable(found) else []
    if flavor in _SKOPS_FLAVORS:
        requirements += [r for r in (_pinned("skops"),) if r]
    if flavor == "pyfunc":
        requirements += [r for r in (_pinned("cloudpickle"),) if r]
    return requirements


def log_model(
    reg: ModelRegistry,
    model: Any,
    name: str,
    *,
    signature: Any,
    input_example: Any = None,
    flavor: str | None = None,
    feature_spec: Any = None,
    data_schema: Any = None,
    training_tables: Mapping[str, int] | None = None,
    holdout: Holdout | None = None,
    metrics: Mapping[str, float] | None = None,
    params: Mapping[str, Any] | None = None,
    pipeline_run_id: str | None = None,
    entry_point: str | None = None,
    code: CodeVersion | None = None,
    pip_requirements: list[str] | None = None,
    label: str | None = None,
    description: str = "",
    flavor_options: Mapping[str, Any] | None = None,
) -> ModelVersionInfo:
    """See `ModelRegistry.log_model`."""
    check_model_name(name)
    if signature is None:
        raise RegistryError(f"model {name!r} has no signature, so it is refused. {_SIGNATURE_HELP}")
    spec = spec_json(feature_spec)
    spec_refs = spec_tables(spec) if spec else {}
    _check_tables(reg, spec_refs, "feature spec")
    tables: dict[str, int] = {k: v for k, v in spec_refs.items() if v is not None}
    for table, version in (training_tables or {}).items():
        tables[str(TableRef.parse(table).name)] = int(version)
    _check_tables(reg, {k: tables[k] for k in tables if k not in spec_refs}, "training tables")
    if holdout is not None and holdout.environment in (None, reg.lake.environment):
        _check_tables(reg, {holdout.table: holdout.version}, "holdout")
        # Recorded with its environment, so a copy in another environment reads the same rows.
        holdout = dataclasses.replace(holdout, environment=reg.lake.environment)
    if entry_point is not None and ":" not in entry_point:
        raise RegistryError(f"entry_point {entry_point!r} is not of the form module:function")

    flavor = flavor or detect_flavor(model)
    try:
        module = importlib.import_module(f"mlflow.{flavor}")
    except ImportError as exc:
        raise RegistryError(f"MLflow has no flavor {flavor!r}: {exc}") from exc
    code = code or code_version(reg.project.root)
    from lakestack.registry._reproduce import git_location

    location = git_location(reg.project.root)
    label = label or (holdout.label if holdout else None) or reg.model_config(name).label
    lineage: dict[str, Any] = {
        "environment": reg.environment.name,
        "principal": reg.lake.context.principal,
        "pipeline_run_id": pipeline_run_id,
        "code_commit": code.commit,
        "code_dirty": code.dirty,
        "code_path": None if location is None else location[1],
        "training_tables": tables,
        "feature_tables": sorted(spec_refs),
        "holdout": None if holdout is None else json.loads(holdout.to_json()),
        "label": label,
        "entry_point": entry_point,
        "params": {k: _plain(v) for k, v in (params or {}).items()},
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
    }
    tags = _tags(lineage)
    return _register(
        reg,
        name,
        model,
        module,
        flavor,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements or default_requirements(flavor, module),
        flavor_options=dict(flavor_options or {}),
        files={
            "feature_spec.json": spec,
            "data_schema.json": _schema_json(data_schema),
            "lineage.json": json.dumps(lineage, indent=2, sort_keys=True, default=str),
        },
        tags=tags,
        metrics=lineage["metrics"],
        params=lineage["params"],
        description=description,
    )


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
        ensure_registered_model(client, name, reg.model_config(name).description)
        mv = client.create_model_version(
            name,
            # The artifact location, not models:/<id>: MLflow's SQL registry resolves a models:/
            # source through the global tracking URI, which is not this environment's.
            source=logged.artifact_location,
            run_id=run_id,
            tags=tags,
            description=description or None,
            model_id=logged.model_id,
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
