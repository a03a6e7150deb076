"""Models: MLflow tracking and registry per environment, gated aliases, lineage, reproduction.

MLflow 3 is the tracking server and registry; lakestack adds what an MLOps loop needs around it:
lineage on every version (code version, training tables and their Delta versions, training
period, feature spec, data schema), its problem type (binary, multiclass or regression), the `staging` and `production` aliases moved only through validation gates
(`models.<name>.gates` in lakestack.yaml), a transition history in the Delta table
`system.model_transitions`, one-step rollback, copies across environments, and reproduction
of a version from its recorded commit and table versions.

MLflow is imported lazily, inside the functions that use it.

Example:
    >>> from lakestack.config import load_project
    >>> from lakestack.registry import Holdout, Lineage, ModelRegistry
    >>> registry = ModelRegistry(load_project("."), "dev")  # doctest: +SKIP
    >>> info = registry.log_model(model, "flights_delay", signature=signature,
    ...     input_example=X.head(5),
    ...     lineage=Lineage(holdout=Holdout("gold.flights_holdout", 3, "delayed")))
    ... # doctest: +SKIP
    >>> registry.promote("flights_delay", info.version, to="staging")  # doctest: +SKIP
    >>> registry.rollback("flights_delay", stage="production")  # doctest: +SKIP
"""

from __future__ import annotations

from lakestack.registry._infra import check_output
from lakestack.registry._loader import LoadedModel, load_model
from lakestack.registry._metrics import METRICS, BootstrapResult, bootstrap_difference, metric
from lakestack.registry._problem import ModelProblem
from lakestack.registry._registry import ModelRegistry
from lakestack.registry._reproduce import Reproduction, TrainingInputs
from lakestack.registry._transitions import TRANSITIONS_TABLE
from lakestack.registry._types import (
    STAGES,
    GateReport,
    GateResult,
    Holdout,
    Lineage,
    ModelVersionInfo,
    Promotion,
    RegisteredModelInfo,
    Stage,
    TrainingPeriod,
    Transition,
)

__all__ = [
    "METRICS",
    "STAGES",
    "TRANSITIONS_TABLE",
    "BootstrapResult",
    "GateReport",
    "GateResult",
    "Holdout",
    "Lineage",
    "LoadedModel",
    "ModelProblem",
    "ModelRegistry",
    "ModelVersionInfo",
    "Promotion",
    "RegisteredModelInfo",
    "Reproduction",
    "Stage",
    "TrainingInputs",
    "TrainingPeriod",
    "Transition",
    "bootstrap_difference",
    "check_output",
    "load_model",
    "metric",
]
