"""`lakestack models list|show|versions|promote|rollback|history|reproduce`."""

from __future__ import annotations

from json import dumps
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from lakestack.cli._common import Scope, command_group, console, plain, print_json, scoped
from lakestack.errors import RegistryError

if TYPE_CHECKING:
    from lakestack.registry import GateReport, ModelRegistry, ModelVersionInfo

__all__ = ["register"]

models_app = command_group(
    "Registered models: versions, stages (aliases), gated promotion, rollback, history."
)

ModelArg = Annotated[str, typer.Argument(help="The registered model's name.")]
VersionArg = Annotated[str, typer.Argument(help="A version number, or an alias (production).")]


def _registry(scope: Scope) -> ModelRegistry:
    from lakestack.registry import ModelRegistry

    return ModelRegistry(scope.project(), scope.env)


def _when(value: Any) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def _code(info: ModelVersionInfo) -> str:
    commit = info.tag("code_commit")
    if not commit:
        return "unversioned"
    return commit[:10] + ("+dirty" if info.tag("code_dirty") == "true" else "")


def _problem(info: ModelVersionInfo) -> str:
    if info.problem is None:
        return ""
    classes = info.classes
    return info.problem + ("" if classes is None else f" (classes {', '.join(map(str, classes))})")


def _period(info: ModelVersionInfo) -> str:
    period = info.training_period
    if period is None:
        return ""
    return f"{period.column} in [{_when(period.start)}, {_when(period.end)}) UTC"


@models_app.command("list")
@scoped()
def list_models(scope: Scope) -> None:
    """List the registered models with their latest version and stages."""
    registry = _registry(scope)
    models = registry.models()
    if scope.json:
        print_json([m.to_dict() for m in models])
        return
    view = Table(title=f"models in {registry.environment.name}")
    for column in ("model", "latest", "staging", "production", "updated (UTC)", "description"):
        view.add_column(column)
    for m in models:
        view.add_row(
            m.name,
            str(m.latest_version or ""),
            str(m.aliases.get("staging", "")),
            str(m.aliases.get("production", "")),
            _when(m.updated),
            m.description,
        )
    console.print(view)


@models_app.command()
@scoped()
def show(
    scope: Scope,
    model: ModelArg,
    version: Annotated[
        str | None, typer.Argument(help="A version or alias (default: the latest).")
    ] = None,
) -> None:
    """Show a version with its lineage: code, tables, holdout, metrics, gates."""
    registry = _registry(scope)
    info = registry.version(model, version) if version else registry.versions(model)[0]
    if scope.json:
        print_json(info.to_dict())
        return
    aliases = f" ({', '.join(info.aliases)})" if info.aliases else ""
    console.print(
        f"[bold]{info.name}[/] version {info.version}{aliases} in {registry.environment.name}"
    )
    rows = [
        ("created", f"{_when(info.created)} UTC"),
        ("source", info.source),
        ("MLflow run", info.run_id or ""),
        ("code", _code(info)),
        ("pipeline run", info.tag("pipeline_run_id") or ""),
        ("problem", _problem(info)),
        ("training tables", ", ".join(f"{t}@{v}" for t, v in info.training_tables.items())),
        ("training period", _period(info)),
        ("holdout", "" if info.holdout is None else f"{info.holdout.table}@{info.holdout.version}"),
        ("metrics", ", ".join(f"{k}={v:.4f}" for k, v in (info.json_tag("metrics") or {}).items())),
        ("entry point", info.tag("entry_point") or ""),
        ("copied from", info.tag("copied_from") or ""),
    ]
    rows += [
        (k.removeprefix("lakestack."), v)
        for k, v in info.tags.items()
        if ".gates." in k and not k.endswith("run_id")
    ]
    view = Table(show_header=False)
    view.add_column("key", style="bold")
    view.add_column("value", overflow="fold")
    for key, value in rows:
        if value:
            view.add_row(key, value)
    console.print(view)


@models_app.command()
@scoped()
def versions(scope: Scope, model: ModelArg) -> None:
    """List a model's versions, newest first, with aliases, code and training tables."""
    found = _registry(scope).versions(model)
    if scope.json:
        print_json([v.to_dict() for v in found])
        return
    view = Table(title=f"versions of {model}")
    for column in ("version", "aliases", "created (UTC)", "code", "training tables", "metrics"):
        view.add_column(column, overflow="fold")
    for v in found:
        metrics = v.json_tag("metrics") or {}
        view.add_row(
            str(v.version),
            ", ".join(v.aliases),
            _when(v.created),
            _code(v),
            ", ".join(f"{t}@{n}" for t, n in v.training_tables.items()),
            ", ".join(f"{k}={x:.4f}" for k, x in metrics.items()),
        )
    console.print(view)


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


_SHOWN = {
    "threshold": ("value", "op", "bound"),
    "regression": ("candidate", "production", "improvement", "ci_low", "ci_high", "margin"),
    "slices": ("slices", "failing", "worst_difference", "tolerance"),
    "infrastructure": ("load_s", "cpu_p95_ms", "cpu_budget_ms", "wall_p50_ms", "wall_p95_ms"),
}


def print_gates(report: GateReport) -> None:
    """The gate table: each gate, its result and numbers; failing slices in detail."""
    baseline = f", against production v{report.baseline_version}" if report.baseline_version else ""
    view = Table(title=f"gates of {report.model} v{report.version} -> {report.stage}{baseline}")
    for column in ("gate", "result", "numbers", "message"):
        view.add_column(column, overflow="fold")
    for r in report.results:
        result = (
            "[green]PASS[/]" if r.passed else ("[red]FAIL[/]" if r.blocking else "[yellow]WARN[/]")
        )
        keys = _SHOWN.get(r.kind, tuple(r.numbers))
        numbers = " ".join(
            f"{k}={_number(r.numbers[k])}" for k in keys if r.numbers.get(k) is not None
        )
        view.add_row(r.name, result, numbers, plain(r.message))
    if not report.results:
        view.add_row("(none)", "[green]PASS[/]", "", "no gates are declared for this stage")
    console.print(view)
    for r in report.results:
        if r.kind == "slices" and r.details:
            slices = Table(title=f"{r.name}")
            for column in ("slice", "rows", "candidate", "production", "difference", "result"):
                slices.add_column(column)
            for d in r.details:
                slices.add_row(
                    f"{d['column']}={d['value']}",
                    str(d["support"]),
                    _number(d["candidate"]),
                    "" if d["production"] is None else _number(d["production"]),
                    "" if d["difference"] is None else f"{d['difference']:+.4f}",
                    "[green]ok[/]" if d["passed"] else f"[red]{d.get('problem', 'fail')}[/]",
                )
            console.print(slices)


@models_app.command()
@scoped()
def promote(
    scope: Scope,
    model: ModelArg,
    version: VersionArg,
    to: Annotated[str, typer.Option("--to", help="The stage: staging or production.")],
    to_env: Annotated[
        str | None,
        typer.Option("--to-env", help="Copy the version into this environment and promote there."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Move the alias even if gates fail.")] = False,
    reason: Annotated[str, typer.Option(help="Why (required with --force).")] = "",
    holdout: Annotated[
        str | None,
        typer.Option(
            help="Score this table (schema.table@version) instead of the recorded holdout."
        ),
    ] = None,
    label: Annotated[str | None, typer.Option(help="The holdout's label column.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Run the gates and report them; move nothing.")
    ] = False,
) -> None:
    """Run the model's gates and give the version the stage's alias if they pass."""
    from lakestack.control_plane import remote_for
    from lakestack.registry import GateReport

    if dry_run:
        _dry_run(scope, model, version, to, holdout, label)
        return
    remote = remote_for(scope.project(), scope.env)
    if remote is not None:  # the environment's control plane promotes
        if holdout or to_env:
            raise RegistryError(
                "--holdout and --to-env are not sent to a control plane; promote with the "
                f"recorded holdout, in {remote.environment} itself"
            )
        data = remote.promote(model, _version_number(version), to=to, force=force, reason=reason)
    else:
        registry = _registry(scope)
        frame = registry.lake.read_polars(holdout) if holdout else None
        data = registry.promote(
            model,
            version,
            to=to,
            force=force,
            reason=reason,
            holdout=frame,
            label=label,
            to_env=to_env,
            raise_on_failure=False,
        ).to_dict()
    report = GateReport.from_json(dumps(data["report"]))
    if scope.json:
        print_json(data)
    else:
        print_gates(report)
        where = f"{model}@{to} in {data['environment']}"
        was = data["previous_version"] or "unset"
        if data["applied"]:
            forced = " (forced)" if data["forced"] else ""
            console.print(
                f"[green]promoted[/]{forced}: {where} is now version {data['version']} (was {was})"
            )
        elif data["transition"] is None:
            console.print(f"{where} already is version {data['version']}; nothing changed")
        else:
            console.print(
                f"[red]refused[/]: {len(report.failures)} gate(s) failed; {where} stays at "
                f"{was}. Fix the model, or --force --reason '...'."
            )
    if data["transition"] is not None and not data["applied"]:
        raise typer.Exit(1)


def _dry_run(
    scope: Scope, model: str, version: str, to: str, holdout: str | None, label: str | None
) -> None:
    """`promote --dry-run`: the gates' report, and no alias moved (exit 0 either way)."""
    registry = _registry(scope)
    frame = registry.lake.read_polars(holdout) if holdout else None
    report = registry.evaluate_gates(model, version, stage=to, holdout=frame, label=label)
    if scope.json:
        print_json({**report.to_dict(), "dry_run": True})
        return
    print_gates(report)
    verdict = "they pass" if report.passed else f"{len(report.failures)} gate(s) fail"
    console.print(
        f"[yellow]dry run[/]: the gates were run, not enforced ({verdict}); "
        f"{model}@{to} in {registry.environment.name} did not move"
    )


def _version_number(version: str) -> int:
    if not version.isdigit():
        raise RegistryError(
            f"give a version number, not {version!r}: a control plane promotes by number "
            "(see `lakestack models versions`)"
        )
    return int(version)


@models_app.command()
@scoped()
def rollback(
    scope: Scope,
    model: ModelArg,
    stage: Annotated[str, typer.Option(help="The stage to roll back.")] = "production",
    reason: Annotated[str, typer.Option(help="Why.")] = "",
) -> None:
    """Give a stage back to its previous holder, as the transition history records it."""
    from lakestack.control_plane import remote_for

    remote = remote_for(scope.project(), scope.env)
    if remote is not None:  # the environment's control plane rolls back
        data = remote.rollback(model, stage=stage, reason=reason)
    else:
        data = _registry(scope).rollback(model, stage=stage, reason=reason).to_dict()
    if scope.json:
        print_json(data)
        return
    console.print(
        f"rolled back: {model}@{stage} in {data['environment']} is now version "
        f"{data['to_version']} (was {data['from_version']})"
    )


@models_app.command()
@scoped()
def history(
    scope: Scope,
    model: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    stage: Annotated[str | None, typer.Option(help="Only this stage.")] = None,
) -> None:
    """Show the transitions: who moved which alias, when, from and to which version, and why."""
    registry = _registry(scope)
    transitions = registry.history(model, stage=stage)
    if scope.json:
        print_json([t.to_dict() for t in transitions])
        return
    view = Table(title=f"model transitions in {registry.environment.name}")
    for column in (
        "time (UTC)",
        "model",
        "stage",
        "action",
        "from",
        "to",
        "outcome",
        "who",
        "gates",
        "why",
    ):
        view.add_column(column, overflow="fold")
    for t in transitions:
        report = t.gate_report()
        gates = (
            ""
            if report is None or not report.results
            else ("passed" if report.passed else "failed")
        )
        outcome = t.outcome + (" (forced)" if t.forced else "")
        view.add_row(
            _when(t.ts), t.model, t.stage, t.action,
            "" if t.from_version is None else str(t.from_version),
            "" if t.to_version is None else str(t.to_version),
            outcome, t.principal, gates, plain(t.reason),
        )  # fmt: skip
    console.print(view)


@models_app.command()
@scoped()
def reproduce(scope: Scope, model: ModelArg, version: VersionArg) -> None:
    """Retrain a version from its recorded commit and table versions; compare the metrics."""
    result = _registry(scope).reproduce(model, version)
    if scope.json:
        print_json(result.to_dict())
    else:
        view = Table(title=f"reproduction of {model} v{result.version} at {result.commit[:10]}")
        for column in ("metric", "recorded", "reproduced", "difference"):
            view.add_column(column)
        for name, recorded in result.recorded.items():
            diff = result.differences[name]
            view.add_row(
                name,
                f"{recorded:.6g}",
                f"{result.reproduced[name]:.6g}" if name in result.reproduced else "missing",
                "" if diff is None else f"{diff:+.3g}",
            )
        console.print(view)
        tables = ", ".join(f"{t}@{v}" for t, v in result.tables.items())
        verdict = "[green]reproduced[/]" if result.matches else "[red]NOT reproduced[/]"
        console.print(f"{verdict} in {result.seconds:.1f} s from {tables or 'no tables'}")
    if not result.matches:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
