"""`ModelRegistry`: the MLflow tracking and registry of one environment, the lakestack way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from lakestack.config import ModelConfig
from lakestack.errors import RegistryError
from lakestack.lake import Lake
from lakestack.registry import _gates, _lifecycle, _log_model, _reproduce
from lakestack.registry._loader import LoadedModel, load_model
from lakestack.registry._tracking import (
    check_model_name,
    local_state_dir,
    make_client,
    parse_version_ref,
    to_info,
)
from lakestack.registry._transitions import read_transitions
from lakestack.registry._types import (
    ModelVersionInfo,
    RegisteredModelInfo,
    Transition,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from lakestack.config import Project
    from lakestack.registry._reproduce import Reproduction

__all__ = ["ModelRegistry"]


class ModelRegistry:
    """The models of one environment: MLflow tracking and registry, aliases, gates, history.

    Stages are the registry aliases `staging` and `production`. Every alias move is gated by
    the model's `gates` in `lakestack.yaml` and recorded in the environment's Delta table
    `system.model_transitions`.

    Example:
        >>> registry = ModelRegistry(load_project("."), "dev")  # doctest: +SKIP
        >>> info = registry.log_model(model, "flights_delay", signature=signature,
        ...     input_example=X[:5], lineage=Lineage(holdout=holdout))  # doctest: +SKIP
        >>> registry.promote("flights_delay", info.version, to="staging")  # doctest: +SKIP
    """

    def __init__(
        self, project: Project, environment: str | None = None, *, lake: Lake | None = None
    ) -> None:
        """Open the registry of an environment.

        Args:
            project: the project.
            environment: the environment (default: `LAKESTACK_ENV`, then the file's default).
            lake: the environment's lake to record transitions with (a pipeline task passes
                `ctx.lake` so the run id is recorded); by default the environment's lake.
        """
        self.project = project
        self.environment = project.environment(environment)
        if lake is not None and lake.environment != self.environment.name:
            raise RegistryError(
                f"the lake of environment {lake.environment!r} cannot record transitions of "
                f"the {self.environment.name!r} registry"
            )
        self.lake = lake or Lake.for_environment(project, self.environment.name)
        self._client: MlflowClient | None = None

    def __repr__(self) -> str:
        return f"ModelRegistry({self.project.name!r}, {self.environment.name!r})"

    def for_environment(self, environment: str) -> ModelRegistry:
        """The registry of another environment of the same project."""
        return ModelRegistry(self.project, environment)

    @property
    def client(self) -> MlflowClient:
        """The `MlflowClient` of this environment (created on first use)."""
        if self._client is None:
            self._client = make_client(self.environment, self.project.state_dir)
        return self._client

    @property
    def lock_dir(self) -> Path:
        """Where file locks of promotions live (SQLite tracking)."""
        return local_state_dir(self.environment, self.project.state_dir) / "locks"

    def experiment_name(self, model: str) -> str:
        """The MLflow experiment of a model's runs: `<project>/<model>`."""
        return f"{self.project.name}/{model}"

    def model_config(self, model: str) -> ModelConfig:
        """`models.<model>` of lakestack.yaml (an empty config when it is not declared)."""
        return self.project.config.models.get(model) or ModelConfig()

    # -- reading --------------------------------------------------------------------------

    def models(self) -> list[RegisteredModelInfo]:
        """The registered models, by name."""
        out = []
        for rm in self.client.search_registered_models(max_results=1000):
            latest = [int(v.version) for v in (rm.latest_versions or [])]
            updated = rm.last_updated_timestamp
            out.append(
                RegisteredModelInfo(
                    name=rm.name,
                    description=rm.description or "",
                    aliases={k: int(v) for k, v in (rm.aliases or {}).items()},
                    latest_version=max(latest) if latest else None,
                    updated=None
                    if updated is None
                    else datetime.fromtimestamp(updated / 1000, tz=UTC),
                )
            )
        return sorted(out, key=lambda m: m.name)

    def versions(self, model: str) -> list[ModelVersionInfo]:
        """Every version of a model, newest first."""
        check_model_name(model)  # also keeps quotes out of the filter string
        found = self.client.search_model_versions(f"name = '{model}'", max_results=10000)
        if not found and not self._exists(model):
            raise self._unknown(model)
        # MLflow's search leaves a version's aliases out; the registered model has them all.
        held: dict[int, list[str]] = {}
        for alias, number in (self.client.get_registered_model(model).aliases or {}).items():
            held.setdefault(int(number), []).append(alias)
        infos = (to_info(mv, held.get(int(mv.version), [])) for mv in found)
        return sorted(infos, key=lambda v: -v.version)

    def _exists(self, model: str) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(model)
        except MlflowException:
            return False
        return True

    def _unknown(self, model: str) -> RegistryError:
        return RegistryError(
            f"no registered model {model!r} in the {self.environment.name!r} registry; "
            "see `lakestack models list`"
        )

    def version(self, model: str, ref: int | str) -> ModelVersionInfo:
        """A version by number (`3`, `"v3"`) or alias (`"production"`, `"@staging"`).

        Raises:
            RegistryError: no such model, version or alias.
        """
        from mlflow.exceptions import MlflowException

        target = parse_version_ref(ref)
        try:
            if isinstance(target, int):
                mv = self.client.get_model_version(model, str(target))
            else:
                mv = self.client.get_model_version_by_alias(model, target)
        except MlflowException:
            if not self._exists(model):
                raise self._unknown(model) from None
            what = f"version {target}" if isinstance(target, int) else f"alias {target!r}"
            raise RegistryError(
                f"model {model!r} has no {what} in the {self.environment.name!r} registry; "
                f"see `lakestack models versions {model}`"
            ) from None
        return to_info(mv)

    def alias_holder(self, model: str, alias: str) -> ModelVersionInfo | None:
        """The version holding an alias, or None."""
        from mlflow.exceptions import MlflowException

        try:
            return to_info(self.client.get_model_version_by_alias(model, alias))
        except MlflowException:
            return None

    def load_model(self, model: str, ref: int | str = "production") -> LoadedModel:
        """Load a version (by number or alias) with `load_model`, the loader serving uses."""
        target = parse_version_ref(ref)
        uri = (
            f"models:/{model}/{target}" if isinstance(target, int) else f"models:/{model}@{target}"
        )
        return load_model(uri, tracking_uri=self.environment.tracking_uri)

    def history(self, model: str | None = None, *, stage: str | None = None) -> list[Transition]:
        """The transitions of a model (or of every model), oldest first."""
        return read_transitions(self.lake, model, stage=stage)

    # -- writing: the implementations are the methods (one signature, one docstring) ------

    log_model = _log_model.log_model
    evaluate_gates = _gates.evaluate_gates
    promote = _lifecycle.promote

    def rollback(self, model: str, *, stage: str = "production", reason: str = "") -> Transition:
        """Give the alias back to its previous holder, as the transition history records it.

        Raises:
            RegistryError: the alias is not set, or the history has no previous holder.
        """
        return _lifecycle.rollback(self, model, stage=stage, reason=reason)

    def copy_version(self, model: str, version: int | str, *, to_env: str) -> ModelVersionInfo:
        """Copy a version into another environment's registry, with its lineage tags.

        Like Unity Catalog's copy-model-version: the artifacts are copied, the `lakestack.*`
        tags are kept and `lakestack.copied_from` names the source.
        """
        return _lifecycle.copy_version(self, model, version, to_env=to_env)

    def reproduce(self, model: str, version: int | str, *, tolerance: float = 1e-9) -> Reproduction:
        """Retrain a version from its recorded commit and table versions; compare metrics.

        Raises:
            RegistryError: it was trained outside git or from a dirty tree, records no entry
                point, or retraining failed.
        """
        return _reproduce.reproduce(self, model, version, tolerance=tolerance)
