"""`ModelRegistry`: the MLflow tracking and registry of one environment, the lakestack way."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakestack.config import ModelConfig
from lakestack.errors import RegistryError
from lakestack.lake import Lake
from lakestack.registry import _gates, _lifecycle, _log, _reproduce
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
    GateReport,
    Holdout,
    ModelVersionInfo,
    Promotion,
    RegisteredModelInfo,
    Transition,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from lakestack.config import GatesConfig, Project
    from lakestack.lake import CodeVersion
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
        ...                           input_example=X[:5], holdout=holdout)  # doctest: +SKIP
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
        return sorted((to_info(mv) for mv in found), key=lambda v: -v.version)

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

    # -- writing --------------------------------------------------------------------------

    def log_model(
        self,
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
        """Log a trained model and register it as a new version, with its lineage.

        One MLflow run (params, metrics), one MLflow 3 logged model and one registered version
        are created. The version's tags carry the lineage (`lakestack.*`: code version,
        training tables and their Delta versions, pipeline run id, holdout, metrics); the
        feature spec, the data schema and the lineage are stored as files beside the model
        (`lakestack/*.json`), so serving gets them with the model.

        Args:
            model: a model of any MLflow flavor (scikit-learn, LightGBM, ...).
            name: the registered model's name.
            signature: the MLflow `ModelSignature` (required).
            input_example: a few input rows, stored and used by the infrastructure gate.
            flavor: the MLflow flavor (detected from the model's class by default).
            feature_spec: the training set's feature spec (`FeatureSpec`, a dict or JSON).
            data_schema: the training data's schema and statistics (`validation.Schema`).
            training_tables: tables read to train and their Delta versions (the feature
                spec's tables are added).
            holdout: where the holdout is, so that gates can score it again later.
            metrics: evaluation metrics (compared by `reproduce`).
            params: training parameters (passed back to the entry point by `reproduce`).
            pipeline_run_id: the pipeline run that trained it (`ctx.run_id`).
            entry_point: `module:function` retraining from `TrainingInputs`, for `reproduce`.
            code: the code version (default: the project folder's git commit and dirty flag).
            pip_requirements: the model's requirements (default: the flavor's, pinned; no
                inference, which takes seconds).
            label: the label column (default: the holdout's, then `models.<name>.label`).
            description: the version's description.
            flavor_options: more arguments of the flavor's `save_model`
                (e.g. `{"pyfunc_predict_fn": "predict_proba"}` for scikit-learn classifiers).

        Returns:
            The new version.

        Raises:
            RegistryError: no signature; a feature spec, training table or holdout naming a
                table that is not in the lake; an unknown flavor.
        """
        from lakestack.access import authorize_writer

        authorize_writer(self.project, "model.log", self.lake, name)
        return _log.log_model(
            self,
            model,
            name,
            signature=signature,
            input_example=input_example,
            flavor=flavor,
            feature_spec=feature_spec,
            data_schema=data_schema,
            training_tables=training_tables,
            holdout=holdout,
            metrics=metrics,
            params=params,
            pipeline_run_id=pipeline_run_id or self.lake.context.run_id,
            entry_point=entry_point,
            code=code,
            pip_requirements=pip_requirements,
            label=label,
            description=description,
            flavor_options=flavor_options,
        )

    def evaluate_gates(
        self,
        model: str,
        version: int | str,
        *,
        stage: str = "staging",
        holdout: Any = None,
        label: str | None = None,
        gates: GatesConfig | None = None,
    ) -> GateReport:
        """Run the gates for promoting a version to a stage, without moving anything.

        Args:
            holdout: a Polars/Arrow/pandas frame with the label column (default: the holdout
                recorded with the version).
            label: the label column (default: the recorded one, then `models.<name>.label`).
            gates: gates to run instead of `models.<model>.gates`.
        """
        number = self.version(model, version).version
        return _gates.evaluate_gates(
            self, model, number, stage, holdout=holdout, label=label, gates=gates
        )

    def promote(
        self,
        model: str,
        version: int | str,
        *,
        to: str,
        force: bool = False,
        reason: str = "",
        holdout: Any = None,
        label: str | None = None,
        to_env: str | None = None,
        raise_on_failure: bool = True,
    ) -> Promotion:
        """Give a version the alias `to` if it passes the model's gates.

        Under the model's lock: the gates run (against the current `production` version), the
        results are logged to MLflow and, if every FAIL gate passed, the alias moves; the
        transition (or the refusal) is appended to `system.model_transitions`.

        Args:
            to: `staging` or `production`.
            force: move the alias even if gates fail (they still run and are recorded).
            reason: why; required with `force`, recorded always.
            holdout: the frame the gates score (default: the holdout recorded with the version).
            label: the holdout's label column.
            to_env: copy the version into this environment's registry first (with its
                lineage) and promote the copy there, against that environment's gates.
            raise_on_failure: raise `GateFailedError` when a gate fails (else return).

        Returns:
            What happened, with the gate report.

        Raises:
            GateFailedError: a gate failed; no alias moved.
            RegistryError: an unknown model, version or stage; force without a reason.
        """
        return _lifecycle.promote(
            self,
            model,
            version,
            to=to,
            force=force,
            reason=reason,
            holdout=holdout,
            label=label,
            to_env=to_env,
            raise_on_failure=raise_on_failure,
        )

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
