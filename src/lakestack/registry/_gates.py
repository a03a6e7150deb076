"""The validation gates of a promotion: thresholds, regression, slices, infrastructure.

Each gate returns a `GateResult`; a gate that cannot run (no holdout, a model that does not
load, a metric that does not fit the model's problem type) returns a failed result saying why
rather than raising, so the report is always complete. What the gates score is `Evaluation`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from lakestack.config import GatesConfig, MetricThreshold, RegressionGateConfig, SliceGateConfig
from lakestack.errors import LakestackError, RegistryError
from lakestack.metric_catalog import HIGHER_IS_BETTER
from lakestack.registry._evaluation import Comparison, Evaluation, read_holdout
from lakestack.registry._infra import run_infrastructure_check
from lakestack.registry._metrics import bootstrap_difference, metric
from lakestack.registry._types import GateReport, GateResult
from lakestack.validation import Severity

if TYPE_CHECKING:
    from lakestack.registry._registry import ModelRegistry

__all__ = ["evaluate_gates", "read_holdout"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


def _severity(value: str) -> Severity:
    return Severity.WARN if value == "warn" else Severity.FAIL


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.4f}"


def _noted(message: str, rows: Comparison) -> str:
    return f"{message}; {rows.note}" if rows.note else message


def _guard(kind: str, name: str, severity: Severity, fn: Callable[[], GateResult]) -> GateResult:
    # A gate that cannot run fails closed, with the reason: a model that cannot score the
    # holdout must not be promoted because its check crashed.
    try:
        return fn()
    except LakestackError as exc:
        return GateResult(name, kind, False, severity, f"could not run: {exc}")
    except Exception as exc:
        return GateResult(
            name, kind, False, severity, f"could not run: {type(exc).__name__}: {exc}"
        )


def _against(ev: Evaluation) -> bool:
    """Whether there is a production version other than the candidate to compare with."""
    return ev.baseline is not None and ev.baseline.version != ev.candidate.version


def _threshold(ev: Evaluation, rule: MetricThreshold, severity: Severity) -> GateResult:
    name = f"threshold {rule}"
    ev.metric_name(rule.metric)
    numbers: dict[str, Any] = {"metric": rule.metric, "op": rule.op}
    production: float | None = None
    rows = Comparison(None, "")
    if rule.relative is not None and not _against(ev):
        return GateResult(
            name, "threshold", True, severity, "no other production version to compare against"
        )
    if not ev.has_holdout:
        value, source = _logged(ev, rule.metric, ev.candidate), "logged"
        if rule.relative is not None:
            assert ev.baseline is not None
            production = _logged(ev, rule.metric, ev.baseline)
    else:
        source = "holdout"
        if rule.relative is not None:
            assert ev.baseline is not None
            rows = ev.comparison()
            production = ev.value(rule.metric, ev.baseline, rows)
        value = ev.value(rule.metric, ev.candidate, rows)
    bound = rule.bound(production)
    passed = bool(np.isfinite(value) and np.isfinite(bound)) and _OPS[rule.op](value, bound)
    needs = f"needs {rule.op} {bound:.4g}"
    if production is not None:
        assert ev.baseline is not None
        needs += f": production v{ev.baseline.version} {_fmt(production)} {rule.relative} "
        needs += f"{rule.value:g}"
        numbers.update(production=production, production_version=ev.baseline.version)
    numbers.update(value=value, bound=bound)
    message = _noted(f"{rule.metric} = {_fmt(value)} on the {source} ({needs})", rows)
    return GateResult(name, "threshold", passed, severity, message, numbers)


def _logged(ev: Evaluation, name: str, info: Any) -> float:
    logged = info.json_tag("metrics") or {}
    if name not in logged:
        raise RegistryError(
            f"no holdout and no logged metric {name!r} of version {info.version} to check; log "
            "it with Lineage(metrics=...) or record a holdout"
        )
    return float(logged[name])


def _thresholds(ev: Evaluation, config: GatesConfig) -> list[GateResult]:
    assert config.thresholds is not None
    severity = _severity(config.thresholds.severity)
    return [
        _guard(
            "threshold",
            f"threshold {rule}",
            severity,
            lambda rule=rule: _threshold(ev, rule, severity),  # type: ignore[misc]
        )
        for rule in config.thresholds.rules
    ]


def _named(ev: Evaluation, configured: str | None) -> str:
    """The gate's metric for its title: the configured one, else the problem's default."""
    try:
        return ev.metric_name(configured)
    except LakestackError:
        return configured or "metric"  # the gate's run says why


def _regression(ev: Evaluation, config: RegressionGateConfig) -> GateResult:
    severity = _severity(config.severity)
    title = f"regression {_named(ev, config.metric)}"
    if not _against(ev):
        message = "no other production version to compare against"
        return GateResult(title, "regression", True, severity, message)
    baseline = ev.baseline
    assert baseline is not None

    def run() -> GateResult:
        name = ev.metric_name(config.metric)
        rows = ev.comparison()
        candidate, probabilities = ev.scores(ev.candidate)
        production, production_probabilities = ev.scores(baseline)
        ev.problem.check_scores(name, probabilities and production_probabilities)
        result = bootstrap_difference(
            name,
            rows.rows(ev.y),
            rows.rows(candidate),
            rows.rows(production),
            resamples=config.resamples,
            confidence=config.confidence,
            seed=config.seed,
        )
        passed = not (result.high < -config.margin)
        pct = f"{config.confidence:.0%}"
        message = (
            f"{name} {_fmt(result.candidate)} vs production v{baseline.version} "
            f"{_fmt(result.baseline)}: improvement {result.improvement:+.4f}, {pct} CI "
            f"[{result.low:+.4f}, {result.high:+.4f}]"
            + ("" if passed else f", entirely below -{config.margin:g}")
        )
        numbers = {
            "metric": name,
            "candidate": result.candidate,
            "production": result.baseline,
            "production_version": baseline.version,
            "improvement": result.improvement,
            "ci_low": result.low,
            "ci_high": result.high,
            "margin": config.margin,
            "confidence": config.confidence,
            "resamples": result.resamples,
            "rows": int(rows.rows(ev.y).shape[0]),
            "holdout_rows": int(ev.frame.height),
        }
        return GateResult(title, "regression", passed, severity, _noted(message, rows), numbers)

    return _guard("regression", title, severity, run)


def _slice_rows(
    ev: Evaluation, config: SliceGateConfig, name: str, rows: Comparison
) -> list[dict[str, Any]]:
    """One row per judged slice: support, candidate and production metric, the verdict."""
    y = ev.y
    candidate, probabilities = ev.scores(ev.candidate)
    ev.problem.check_scores(name, probabilities)
    production = ev.scores(ev.baseline)[0] if _against(ev) and ev.baseline else None
    higher = name in HIGHER_IS_BETTER
    kept = np.ones(ev.frame.height, dtype=bool) if rows.mask is None else rows.mask
    found: list[dict[str, Any]] = []
    for column in config.columns:
        values = ev.frame.get_column(column).to_numpy()
        for value in sorted({v for v in values if v is not None}, key=str):
            mask = (values == value) & kept
            support = int(mask.sum())
            if support < config.min_support:
                continue
            c = metric(name, y[mask], candidate[mask])
            if not np.isfinite(c):
                continue
            row: dict[str, Any] = {
                "column": column,
                "value": str(value),
                "support": support,
                "candidate": c,
                "production": None,
                "difference": None,
            }
            problems = []
            if production is not None:
                p = metric(name, y[mask], production[mask])
                if np.isfinite(p):
                    diff = (c - p) if higher else (p - c)
                    row.update(production=p, difference=diff)
                    if diff < -config.tolerance:
                        problems.append(f"{diff:+.4f} vs production")
            bound = config.threshold
            if bound is not None and not (c >= bound if higher else c <= bound):
                problems.append(f"{_fmt(c)} beyond {config.threshold:g}")
            row.update(passed=not problems, problem="; ".join(problems))
            found.append(row)
    return found


def _slices(ev: Evaluation, config: SliceGateConfig) -> GateResult:
    severity = _severity(config.severity)
    title = f"slices {_named(ev, config.metric)} by {', '.join(config.columns)}"

    def run() -> GateResult:
        name = ev.metric_name(config.metric)
        missing = [c for c in config.columns if c not in ev.frame.columns]
        if missing:
            raise RegistryError(f"the holdout has no slice column(s) {', '.join(missing)}")
        rows = ev.comparison() if _against(ev) else Comparison(None, "")
        found = _slice_rows(ev, config, name, rows)
        failing = [r for r in found if not r["passed"]]
        against = f"production v{ev.baseline.version}" if _against(ev) and ev.baseline else None
        if failing:
            listing = ", ".join(f"{r['column']}={r['value']} ({r['problem']})" for r in failing)
            message = f"{len(failing)} of {len(found)} slices fail: {listing}"
        else:
            message = (
                f"{len(found)} slices with at least {config.min_support} rows, none failing"
                + (f" against {against} (tolerance {config.tolerance:g})" if against else "")
            )
        numbers = {
            "metric": name,
            "slices": len(found),
            "failing": len(failing),
            "tolerance": config.tolerance,
            "min_support": config.min_support,
            "worst_difference": min(
                (r["difference"] for r in found if r["difference"] is not None), default=None
            ),
        }
        return GateResult(
            title, "slices", not failing, severity, _noted(message, rows), numbers, found
        )

    return _guard("slices", title, severity, run)


def _infrastructure(ev: Evaluation, config: GatesConfig) -> GateResult:
    infra = config.infrastructure
    assert infra is not None
    severity = _severity(infra.severity)
    found = run_infrastructure_check(
        ev.candidate.uri,
        ev.reg.environment.tracking_uri,
        requests=infra.requests,
        warmup=infra.warmup,
        threads=infra.threads,
        timeout_s=infra.timeout_s,
    )
    numbers = {k: v for k, v in found.items() if k not in ("ok", "problem")}
    numbers["cpu_budget_ms"] = infra.cpu_ms
    if not found.get("ok"):
        message = f"failed in a fresh process: {found.get('problem')}"
        return GateResult("infrastructure", "infrastructure", False, severity, message, numbers)
    cpu_p95 = float(found["cpu_p95_ms"])
    passed = cpu_p95 <= infra.cpu_ms
    message = (
        f"loaded in a fresh process in {found['load_s']:.2f} s; output matches the signature; "
        f"p95 {cpu_p95:.2f} ms of CPU per request of {found['rows']} row(s) "
        f"(wall clock: p50 {found['wall_p50_ms']:.2f} ms, p95 {found['wall_p95_ms']:.2f} ms) "
        f"after {infra.warmup} warm-up request(s), {infra.threads} thread(s), "
        + ("within" if passed else "over")
        + f" the {infra.cpu_ms:g} ms CPU budget"
    )
    return GateResult("infrastructure", "infrastructure", passed, severity, message, numbers)


def evaluate_gates(
    reg: ModelRegistry,
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
        model: the registered model.
        version: a version number or alias.
        stage: the stage whose gates run (`staging` or `production`).
        holdout: a Polars/Arrow/pandas frame with the label column (default: the holdout
            recorded with the version).
        label: the label column (default: the recorded one, then `models.<name>.label`).
        gates: gates to run instead of `models.<model>.gates`.

    Returns:
        One result per gate declared for the stage; a gate that cannot run has failed.
    """
    config = gates or reg.model_config(model).gates
    candidate = reg.version(model, version)
    baseline = reg.alias_holder(model, "production")
    ev = Evaluation(reg, candidate, baseline, _polars(holdout), label, config)
    results: list[GateResult] = []
    if config.thresholds is not None and stage in config.thresholds.stages:
        results += _thresholds(ev, config)
    if config.regression is not None and stage in config.regression.stages:
        results.append(_regression(ev, config.regression))
    if config.slices is not None and stage in config.slices.stages:
        results.append(_slices(ev, config.slices))
    if config.infrastructure is not None and stage in config.infrastructure.stages:
        results.append(_infrastructure(ev, config))
    return GateReport(
        model=model,
        version=candidate.version,
        stage=stage,
        baseline_version=None if baseline is None else baseline.version,
        results=tuple(results),
    )


def _polars(data: Any) -> Any:
    if data is None:
        return None
    import polars as pl

    if isinstance(data, pl.DataFrame):
        return data
    module = type(data).__module__
    if module.startswith("pandas"):
        return pl.from_pandas(data)
    frame = pl.from_arrow(data) if module.startswith("pyarrow") else pl.DataFrame(data)
    assert isinstance(frame, pl.DataFrame)
    return frame
