"""MLflow plumbing: one client per environment, experiments, artifact roots, version lookups.

MLflow is imported inside functions: `import mlflow` takes seconds, and light commands (and
`lakestack --help`) must not pay for it. No function here touches MLflow's global fluent state
(`mlflow.set_tracking_uri`, the active run): every call goes through an explicit client.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakestack.errors import RegistryError
from lakestack.lake import is_object_store, mlflow_s3_environment
from lakestack.registry._types import STAGES, ModelVersionInfo

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModel
    from mlflow.entities.model_registry import ModelVersion

    from lakestack.config import Environment

__all__ = [
    "artifact_root",
    "create_version",
    "ensure_experiment",
    "ensure_registered_model",
    "local_state_dir",
    "make_client",
    "parse_version_ref",
    "to_info",
]

_MODEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def local_state_dir(env: Environment, state_dir: Path) -> Path:
    """A local folder for this environment's registry state (artifacts, locks).

    Next to the SQLite file for a SQLite tracking URI, else `.lakestack/<env>/`.
    """
    uri = env.tracking_uri
    if uri.startswith("sqlite:///") and uri != "sqlite:///:memory:":
        return Path(uri.removeprefix("sqlite:///")).parent
    return state_dir / env.name


def artifact_root(env: Environment, state_dir: Path) -> str | None:
    """Where new experiments store artifacts; None lets an MLflow server decide.

    Beside an object-store lake, artifacts go to the same store (`<lake>/_mlflow_artifacts`),
    so that every machine running the environment's jobs reads the same models.
    """
    uri = env.tracking_uri
    if uri.startswith(("http://", "https://", "databricks")):
        return None
    if is_object_store(env.lake_root):
        return f"{env.lake_root}/_mlflow_artifacts"
    return str(local_state_dir(env, state_dir) / "mlartifacts")


def make_client(env: Environment, state_dir: Path) -> MlflowClient:
    """An `MlflowClient` bound to the environment's tracking and registry URI."""
    from mlflow import MlflowClient

    uri = env.tracking_uri
    if uri.startswith("sqlite:///"):
        local_state_dir(env, state_dir).mkdir(parents=True, exist_ok=True)
    if (artifact_root(env, state_dir) or "").startswith("s3://"):
        # MLflow's S3 artifact store reads its endpoint and keys from the environment only.
        for key, value in mlflow_s3_environment(env.storage_options).items():
            os.environ.setdefault(key, value)
    try:
        return MlflowClient(tracking_uri=uri, registry_uri=uri)
    except Exception as exc:
        raise RegistryError(
            f"cannot open the MLflow tracking store of environment {env.name!r} ({_safe(uri)}): "
            f"{exc}. Check environments.{env.name}.tracking in lakestack.yaml."
        ) from exc


def _safe(uri: str) -> str:
    """The URI without a password."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", uri)


def ensure_experiment(client: MlflowClient, name: str, env: Environment, state_dir: Path) -> str:
    """The id of the experiment `name`, created with the environment's artifact root."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    root = artifact_root(env, state_dir)
    location = None if root is None else f"{root}/{_slug(name)}"
    try:
        return str(client.create_experiment(name, artifact_location=location))
    except MlflowException:  # created meanwhile by another process
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return str(found.experiment_id)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def ensure_registered_model(client: MlflowClient, name: str, description: str = "") -> None:
    """Create the registered model unless it exists."""
    from mlflow.exceptions import MlflowException

    check_model_name(name)
    try:
        client.create_registered_model(name, description=description or None)
    except MlflowException as exc:
        if "already exists" not in str(exc).lower() and "ALREADY_EXISTS" not in str(
            getattr(exc, "error_code", "")
        ):
            raise


def create_version(
    client: MlflowClient,
    name: str,
    logged: LoggedModel,
    *,
    run_id: str,
    tags: dict[str, str],
    description: str,
    model_description: str,
) -> ModelVersion:
    """Register the finalized `logged` as a new version of `name` (the registered model is
    created, with `model_description`, if it does not exist)."""
    ensure_registered_model(client, name, model_description)
    return client.create_model_version(
        name,
        # The artifact location, not models:/<id>: MLflow's SQL registry resolves a models:/
        # source through the global tracking URI, which is not this environment's.
        source=logged.artifact_location,
        run_id=run_id,
        tags=tags,
        description=description or None,
        model_id=logged.model_id,
    )


def check_model_name(name: str) -> str:
    """Refuse names MLflow or the CLI would mangle."""
    if not _MODEL_NAME.match(name):
        raise RegistryError(
            f"model name {name!r} is not valid: use letters, digits, '_', '.' and '-', starting "
            "with a letter or '_'"
        )
    return name


def parse_version_ref(ref: int | str) -> int | str:
    """`3`, `"3"`, `"v3"` -> 3; `"production"` / `"@production"` -> the alias name."""
    if isinstance(ref, int):
        return ref
    text = ref.strip().removeprefix("@")
    if text.isdigit():
        return int(text)
    if text[:1] in ("v", "V") and text[1:].isdigit():
        return int(text[1:])
    return text


def to_info(mv: Any, aliases: list[str] | None = None) -> ModelVersionInfo:
    """Our view of an MLflow `ModelVersion` (with `aliases` when MLflow left them out)."""
    created = datetime.fromtimestamp((mv.creation_timestamp or 0) / 1000, tz=UTC)
    held = {*(getattr(mv, "aliases", None) or []), *(aliases or [])}
    ordered = sorted(held, key=_alias_order)
    return ModelVersionInfo(
        name=str(mv.name),
        version=int(mv.version),
        aliases=tuple(ordered),
        run_id=mv.run_id or None,
        model_id=getattr(mv, "model_id", None) or None,
        source=str(mv.source),
        created=created,
        tags=dict(mv.tags or {}),
        description=mv.description or "",
    )


def _alias_order(alias: str) -> tuple[int, str]:
    return (STAGES.index(alias) if alias in STAGES else len(STAGES), alias)  # type: ignore[arg-type]
