"""The validation gates of a promotion: thresholds, regression, slices, infrastructure.

Each gate returns a `GateResult`; a gate that cannot run (no holdout, a model that does not
load) returns a failed result saying why rather than raising, so the report is always complete.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lakestack.config import GatesConfig, RegressionGateConfig, SliceGateConfig
from lakestack.errors import LakestackError, RegistryError
from lakestack.registry._infra import run_infrastructure_check
from lakestack.registry._loader import scores
from lakestack.registry._metrics import HIGHER_IS_BETTER, bootstrap_difference, metric
from lakestack.registry._types import GateReport, GateResult, Holdout, ModelVersionInfo
from lakestack.validation import Severity

if TYPE_CHECKING:
    import polars as pl

    from lakestack.registry._registry import ModelRegistry

__all__ = ["evaluate_gates", "read_holdout"]

Array = npt.NDArray[np.float64]
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


def read_holdout(reg: ModelRegistry, holdout: Holdout) -> pl.DataFrame:
    """The rows of a recorded holdout (time travel to its version, its filters applied)."""
    filters = None
    if holdout.filters:
        filters = [tuple(f) for f in holdout.filters]
    env = holdout.environment if holdout.environment != reg.lake.environment else None
    return reg.lake.read_polars(
        holdout.table,
        version=holdout.version,
        filters=filters,  # type: ignore[arg-type]
        environment=env,
    )


class _Evaluation:
    """Lazily loaded models and their scores on the holdout, shared by the gates."""

    def __init__(
        self,
        reg: ModelRegistry,
        candidate: ModelVersionInfo,
        baseline: ModelVersionInfo | None,
        holdout: Any,
        label: str | None,
    ) -> None:
        self.reg = reg
        self.candidate = candidate
        self.baseline = baseline
        self._holdout = holdout
        self._label = label
        self._frame: pl.DataFrame | None = None
        self._scores: dict[int, Array] = {}

    @property
    def frame(self) -> pl.DataFrame:
        if self._frame is None:
            import polars as pl

            data = self._holdout
            if data is None:
                recorded = self.candidate.holdout
                if recorded is None:
                    raise RegistryError(
                        "no holdout: pass holdout=<frame with the label column> to promote "
                        "(--holdout TABLE@VERSION on the CLI), or log the version with "
                        "holdout=Holdout(table, version, label)"
                    )
                data = read_holdout(self.reg, recorded)
            frame = data if isinstance(data, pl.DataFrame) else pl.DataFrame(data)
            if frame.height == 0:
                raise RegistryError("the holdout has no rows")
            self._frame = frame
        return self._frame

    @property
    def label(self) -> str:
        recorded = self.candidate.holdout
        label = (
            self._label
            or (recorded.label if recorded else None)
            or self.candidate.tag("label")
            or self.reg.model_config(self.candidate.name).label
        )
        if label is None:
            raise RegistryError(
                f"which column of the holdout is the label? Set models.{self.candidate.name}."
                "label in lakestack.yaml, or pass label="
            )
        if label not in self.frame.columns:
            raise RegistryError(
                f"the holdout has no label column {label!r}; its columns: "
                f"{', '.join(self.frame.columns)}"
            )
        return label

    @property
    def y(self) -> Array:
        return self.frame.get_column(self.label).cast(float).to_numpy()

    def scores(self, info: ModelVersionInfo) -> Array:
        if info.version not in self._scores:
            model = self.reg.load_model(info.name, info.version)
            self._scores[info.version] = scores(model, self.frame)
        return self._scores[info.version]


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


def _thresholds(ev: _Evaluation, config: GatesConfig) -> list[GateResult]:
    assert config.thresholds is not None
    severity = _severity(config.thresholds.severity)
    results = []
    logged = ev.candidate.json_tag("metrics") or {}
    for rule in config.thresholds.rules:
        name = f"threshold {rule}"

        def run(rule: Any = rule, name: str = name) -> GateResult:
            if ev._holdout is None and ev.candidate.holdout is None:
                if rule.metric not in logged:
                    raise RegistryError(
                        f"no holdout and no logged metric {rule.metric!r} to check; log it with "
                        "metrics= or record a holdout"
                    )
                value, source = float(logged[rule.metric]), "logged"
            else:
                value = metric(rule.metric, ev.y, ev.scores(ev.candidate))
                source = "holdout"
            passed = bool(np.isfinite(value)) and _OPS[rule.op](value, rule.value)
            return GateResult(
                name,
                "threshold",
                passed,
                severity,
                f"{rule.metric} = {_fmt(value)} on the {source} (needs {rule.op} {rule.value:g})",
                {"metric": rule.metric, "value": value, "bound": rule.value, "op": rule.op},
            )

        results.append(_guard("threshold", name, severity, run))
    return results


def _regression(ev: _Evaluation, config: RegressionGateConfig) -> GateResult:
    name = f"regression {config.metric}"
    severity = _severity(config.severity)
    if ev.baseline is None or ev.baseline.version == ev.candidate.version:
        return GateResult(
            name, "regression", True, severity, "no other production version to compare against"
        )
    baseline = ev.baseline

    def run() -> GateResult:
        result = bootstrap_difference(
            config.metric,
            ev.y,
            ev.scores(ev.candidate),
            ev.scores(baseline),
            resamples=config.resamples,
            confidence=config.confidence,
            seed=config.seed,
        )
        passed = not (result.high < -config.margin)
        pct = f"{config.confidence:.0%}"
        message = (
            f"{config.metric} {_fmt(result.candidate)} vs production v{baseline.version} "
            f"{_fmt(result.baseline)}: improvement {result.improvement:+.4f}, {pct} CI "
            f"[{result.low:+.4f}, {result.high:+.4f}]"
            + ("" if passed else f", entirely below -{config.margin:g}")
        )
        return GateResult(
            name,
            "regression",
            passed,
            severity,
            message,
            {
                "metric": config.metric,
                "candidate": result.candidate,
                "production": result.baseline,
                "production_version": baseline.version,
                "improvement": result.improvement,
                "ci_low": result.low,
                "ci_high": result.high,
                "margin": config.margin,
                "confidence": config.confidence,
                "resamples": result.resamples,
                "rows": int(ev.frame.height),
            },
        )

    return _guard("regression", name, severity, run)


def _slices(ev: _Evaluation, config: SliceGateConfig) -> GateResult:
    name = f"slices {config.metric} by {', '.join(config.columns)}"
    severity = _severity(config.severity)

    def run() -> GateResult:
        missing = [c for c in config.columns if c not in ev.frame.columns]
        if missing:
            raise RegistryError(f"the holdout has no slice column(s) {', '.join(missing)}")
        y = ev.y
        cand = ev.scores(ev.candidate)
        base = None
        if ev.baseline is not None and ev.baseline.version != ev.candidate.version:
            base = ev.scores(ev.baseline)
        higher = config.metric in HIGHER_IS_BETTER
        rows: list[dict[str, Any]] = []
        for column in config.columns:
            values = ev.frame.get_column(column).to_numpy()
            for value in sorted({v for v in values if v is not None}, key=str):
                mask = values == value
                support = int(mask.sum())
                if support < config.min_support:
                    continue
                c = metric(config.metric, y[mask], cand[mask])
                if not np.isfinite(c):
                    continue
                row: dict[str, Any] = {
                    "column": column,
                    "value": str(value),
                    "support": support,
                    "candidate": c,
                    "production": None,
                    "difference": None,
                    "passed": True,
                }
                problems = []
                if base is not None:
                    p = metric(config.metric, y[mask], base[mask])
                    if np.isfinite(p):
                        diff = (c - p) if higher else (p - c)
                        row.update(production=p, difference=diff)
                        if diff < -config.tolerance:
                            problems.append(f"{diff:+.4f} vs production")
                if config.threshold is not None:
                    ok = c >= config.threshold if higher else c <= config.threshold
                    if not ok:
                        problems.append(f"{_fmt(c)} beyond {config.threshold:g}")
                row["passed"] = not problems
                row["problem"] = "; ".join(problems)
                rows.append(row)
        failing = [r for r in rows if not r["passed"]]
        against = f"production v{ev.baseline.version}" if base is not None and ev.baseline else None
        if failing:
            listing = ", ".join(f"{r['column']}={r['value']} ({r['problem']})" for r in failing)
            message = f"{len(failing)} of {len(rows)} slices fail: {listing}"
        else:
            message = (
                f"{len(rows)} slices with at least {config.min_support} rows, none failing"
                + (f" against {against} (tolerance {config.tolerance:g})" if against else "")
            )
        return GateResult(
            name,
            "slices",
            not failing,
            severity,
            message,
            {
                "metric": config.metric,
                "slices": len(rows),
                "failing": len(failing),
                "tolerance": config.tolerance,
                "min_support": config.min_support,
                "worst_difference": min(
                    (r["difference"] for r in rows if r["difference"] is not None), default=None
                ),
            },
            rows,
        )

    return _guard("slices", name, severity, run)


def _infrastructure(ev: _Evaluation, config: GatesConfig) -> GateResult:
    infra = config.infrastructure
    assert infra is not None
    severity = _severity(infra.severity)
    found = run_infrastructure_check(
        ev.candidate.uri,
        ev.reg.environment.tracking_uri,
        requests=infra.requests,
        timeout_s=infra.timeout_s,
    )
    numbers = {k: v for k, v in found.items() if k not in ("ok", "problem")}
    numbers["budget_ms"] = infra.latency_ms
    if not found.get("ok"):
        message = f"failed in a fresh process: {found.get('problem')}"
        return GateResult("infrastructure", "infrastructure", False, severity, message, numbers)
    p95 = float(found["p95_ms"])
    passed = p95 <= infra.latency_ms
    message = (
        f"loaded in a fresh process in {found['load_s']:.2f} s; output matches the signature; "
        f"p95 {p95:.2f} ms per request of {found['rows']} row(s) "
        + ("within" if passed else "over")
        + f" the {infra.latency_ms:g} ms budget"
    )
    return GateResult("infrastructure", "infrastructure", passed, severity, message, numbers)


def evaluate_gates(
    reg: ModelRegistry,
    model: str,
    version: int,
    stage: str,
    *,
    holdout: Any = None,
    label: str | None = None,
    gates: GatesConfig | None = None,
) -> GateReport:
    """Run the gates of `model` for promoting `version` to `stage`; see `ModelRegistry`."""
    config = gates or reg.model_config(model).gates
    candidate = reg.version(model, version)
    baseline = reg.alias_holder(model, "production")
    ev = _Evaluation(reg, candidate, baseline, _polars(holdout), label)
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
