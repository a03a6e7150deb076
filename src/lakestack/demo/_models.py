"""The demo's models stage: train, gate, promote; retrain, gate against production, decide."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from rich.table import Table

from lakestack.demo._show import console, gate_table
from lakestack.errors import GateFailedError

if TYPE_CHECKING:
    from lakestack.demo._main import Demo
    from lakestack.registry import GateReport, ModelRegistry

__all__ = ["stage_models"]

# The first model learns January-June and is judged on July-August; the retrained one learns
# January-August and is judged, against the first, on September-October.
FIRST = {"train_start": "2013-01-01", "train_end": "2013-07-01", "holdout_end": "2013-09-01"}
SECOND = {"train_start": "2013-01-01", "train_end": "2013-09-01", "holdout_end": "2013-11-01"}
SAMPLE = 40_000
MODEL = "flights_delay"


def _train(demo: Demo, window: dict[str, str], name: str) -> dict[str, Any]:
    """The `training` job's tasks up to `register`, in this process, with its TaskContexts.

    In-process rather than through the runner: each run's fresh worker would import MLflow and
    LightGBM again (about 20 s here); the ingest stage shows the runner.
    """
    from lakestack.pipelines import TaskContext
    from lakestack.templates.flights.flights_ml import training

    quiet = logging.getLogger(f"lakestack.demo.training.{name}")
    quiet.propagate = False  # the data gate's warnings are summed up below instead
    quiet.addHandler(logging.NullHandler())
    run_id = f"demo-{name}-{uuid.uuid4().hex[:6]}"
    outputs: dict[str, Any] = {}
    for task in demo.project.config.jobs["training"].tasks:  # listed in dependency order
        if task.name == "promote":  # the stage promotes itself, to show the gates
            continue
        params = dict(task.params)
        if task.name == "prepare":
            params.update(window, sample=SAMPLE)
        ctx = TaskContext(
            project=demo.project,
            lake=demo.lake,
            job="training",
            task=task.name,
            run_id=run_id,
            params=params,
            upstream={dep: outputs[dep] for dep in task.depends_on},
            logger=quiet,
        )
        outputs[task.name] = getattr(training, task.run.split(":")[1])(ctx)
    return outputs


def _promote(
    registry: ModelRegistry, version: int, stage: str, *, needed_by: str | None = None
) -> GateReport:
    """Promote through the gates and show them; a refusal the demo cannot go on without
    (`needed_by`: what needs the alias) stops it."""
    result = registry.promote(MODEL, version, to=stage, raise_on_failure=False)
    console.print(gate_table(result.report))
    if result.applied or result.report.passed:
        console.print(f"[green]promoted[/]: {MODEL}@{stage} is version {version}")
        return result.report
    holder = result.previous_version
    stays = f"stays version {holder}" if holder is not None else "has no version"
    console.print(f"[red]refused[/]: {MODEL}@{stage} {stays}")
    if needed_by is not None:
        refusals = "; ".join(f"the {r.name} gate: {r.message}" for r in result.report.failures)
        raise GateFailedError(
            f"the demo stops: {needed_by} needs {MODEL}@{stage}, and version {version} was "
            f"refused by {refusals}. Its project is {registry.project.root}; `lakestack models "
            f"promote {MODEL} {version} --to {stage} --dry-run` there runs the gates again."
        )
    return result.report


def _comparison(report: GateReport, candidate: int) -> Table:
    regression = next(r for r in report.results if r.kind == "regression")
    slices = next(r for r in report.results if r.kind == "slices")
    n = regression.numbers
    if "candidate" not in n:  # the gate could not compare; its message says why
        view = Table(title="comparison")
        view.add_column("regression gate")
        view.add_row(regression.message)
        return view
    view = Table(
        title=f"roc_auc on the same holdout (Sep-Oct 2013, {n['rows']:,} flights): "
        f"candidate v{candidate} vs production v{n['production_version']}"
    )
    for column in ("rows", "flights", "production", "candidate", "difference", "95% CI", "result"):
        view.add_column(column, justify="left" if column in ("rows", "result") else "right")
    ok = "[green]ok[/]"
    view.add_row(
        "overall",
        f"{n['rows']:,}",
        f"{n['production']:.4f}",
        f"{n['candidate']:.4f}",
        f"{n['improvement']:+.4f}",
        f"[{n['ci_low']:+.4f}, {n['ci_high']:+.4f}]",
        ok if regression.passed else "[red]regressed[/]",
    )
    for d in slices.details:
        view.add_row(
            f"origin {d['value']}",
            f"{d['support']:,}",
            f"{d['production']:.4f}",
            f"{d['candidate']:.4f}",
            f"{d['difference']:+.4f}",
            "",
            ok if d["passed"] else "[red]regressed[/]",
        )
    return view


def stage_models(demo: Demo) -> None:
    """Models: train on Jan-Jun and promote through the gates; retrain on Jan-Aug and compare."""
    import mlflow  # noqa: F401  # configures its loggers on import, so quiet them after

    from lakestack.registry import ModelRegistry

    logging.getLogger("mlflow").setLevel(logging.ERROR)  # its INFO lines are not for the demo
    registry = ModelRegistry(demo.project, demo.lake.environment)
    first = _train(demo, FIRST, "first")
    v1 = first["register"]["version"]
    console.print(
        f"version {v1} trained on Jan-Jun 2013 ({first['prepare']['rows']['train']:,} flights; "
        f"data gate passed with {first['validate_data']['warnings']} warnings): "
        + ", ".join(f"{k} {v:.4f}" for k, v in first["evaluate"]["metrics"].items())
        + " on its Jul-Aug holdout"
    )
    _promote(registry, v1, "staging", needed_by="its promotion to production")
    # production adds the infrastructure gate (a fresh process)
    _promote(registry, v1, "production", needed_by="the serving stage")

    second = _train(demo, SECOND, "second")
    v2 = second["register"]["version"]
    console.print(
        f"version {v2} retrained on Jan-Aug 2013 ({second['prepare']['rows']['train']:,} flights)"
    )
    report = _promote(registry, v2, "staging")
    console.print(_comparison(report, v2))
    if report.passed:
        decision = (
            f"decision: version {v2} goes to staging; it does not regress against production "
            f"v{v1} overall or at any airport. Production stays v{v1} until the deployment "
            f"checks pass: lakestack models promote flights_delay {v2} --to production"
        )
    else:
        failed = "; ".join(f"{r.name}: {r.message}" for r in report.failures)
        decision = (
            f"decision: version {v2} is refused ({failed}); staging and production stay v{v1}"
        )
    console.print(decision)
    demo.results["model versions"] = {"first": v1, "second": v2}
    demo.results["model decision"] = "staging" if report.passed else "refused"
