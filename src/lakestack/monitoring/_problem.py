"""The problem type of a monitored model: declared in `models.<name>.problem`, or recorded with
the versions whose predictions the inference table holds.

There is no default: a monitor that cannot tell says how to declare it. A declaration that
disagrees with what the versions recorded is an error, as is a quality metric (or a
`quality.<metric>` rule) that does not fit the problem.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakestack.errors import MonitoringError, RegistryError
from lakestack.metric_catalog import (
    MONITOR_METRICS,
    QUALITY_COUNTS,
    metric_misfit,
)

if TYPE_CHECKING:
    from lakestack.config import MonitorConfig, Project
    from lakestack.registry import ModelProblem

__all__ = ["ProblemLookup", "quality_metric_names"]


class ProblemLookup:
    """The monitored model's problem, found once per pass and per model version.

    Args:
        project: the project (its `models:` section and registries).
        config: the monitor.
        env: the environment whose registry recorded the versions.
    """

    def __init__(self, project: Project, config: MonitorConfig, env: str) -> None:
        self.project = project
        self.config = config
        self.env = env
        model = project.config.models.get(config.model)
        self.declared = None if model is None else model.problem
        self._versions: dict[int, ModelProblem | None] = {}

    def _recorded(self, version: int) -> ModelProblem | None:
        if version not in self._versions:
            from lakestack.registry import ModelProblem, ModelRegistry

            try:
                info = ModelRegistry(self.project, self.env).version(self.config.model, version)
            except RegistryError:
                self._versions[version] = None
            else:
                found = info.problem
                self._versions[version] = (
                    None if found is None else ModelProblem.of_version(info, None)
                )
        return self._versions[version]

    def for_versions(self, versions: list[int]) -> ModelProblem:
        """The problem of the model versions whose rows are scored together.

        Raises:
            MonitoringError: nothing tells the problem type, the versions disagree (with each
                other or with the declaration), or a multiclass model's classes are unknown.
        """
        from lakestack.registry import ModelProblem

        model = self.config.model
        if self.declared in ("binary", "regression") or not versions:
            if self.declared is None:
                raise self._unknown()
            return ModelProblem(self.declared)
        found = {v: self._recorded(v) for v in sorted(versions)}
        known = {v: p for v, p in found.items() if p is not None}
        kinds = {p.problem for p in known.values()}
        if len(kinds) > 1 or (self.declared is not None and kinds - {self.declared}):
            listing = ", ".join(f"v{v}: {p.problem}" for v, p in known.items())
            declared = f"; models.{model}.problem is {self.declared}" if self.declared else ""
            raise MonitoringError(
                f"the versions of model {model!r} in {self.config.table} disagree on the problem "
                f"type ({listing}{declared}); monitor one problem type per monitor"
            )
        if known:
            first = next(iter(known.values()))
            classes = {frozenset(p.classes or ()) for p in known.values()}
            if len(classes) > 1:
                raise MonitoringError(
                    f"the versions of model {model!r} have different classes; monitor them apart"
                )
            return first
        if self.declared == "multiclass":
            raise MonitoringError(
                f"model {model!r} is multiclass, but none of its versions in the registry records "
                "its classes (the order of its probabilities): log its versions with lakestack's "
                "log_model, which records them"
            )
        raise self._unknown()

    def _unknown(self) -> MonitoringError:
        model = self.config.model
        return MonitoringError(
            f"cannot tell the problem type of model {model!r} to compute its quality: declare "
            f"models.{model}.problem in lakestack.yaml (binary, multiclass or regression), or log "
            "its versions with lakestack's log_model, which records it"
        )


def quality_metric_names(config: MonitorConfig, problem: ModelProblem) -> list[str]:
    """The quality metrics the monitor computes: its `metrics`, else the problem's defaults.

    Raises:
        MonitoringError: a metric does not fit the problem, or a rule names a quality metric
            the monitor does not compute.
    """
    wanted = list(config.metrics or MONITOR_METRICS[problem.problem])
    for name in wanted:
        misfit = metric_misfit(name, problem.problem)
        if misfit:
            raise MonitoringError(
                f"monitor of {config.table}: {misfit} (model {config.model!r}); fix the "
                "monitor's `metrics`"
            )
    from lakestack.monitoring._rules import parse_condition

    for rule in config.alerts:
        condition = parse_condition(rule.when, rule.name, problem.problem)
        computed = (*wanted, *QUALITY_COUNTS)
        if condition.table == "quality" and condition.metric not in computed:
            raise MonitoringError(
                f"alert rule {rule.name!r} uses quality.{condition.metric}, which the monitor "
                f"does not compute (its metrics: {', '.join(wanted)}); add it to `metrics`"
            )
    return wanted
