"""Alert rule conditions evaluated on the metric tables.

The grammar is `lakestack.rule_grammar`'s (which `lakestack validate` checks too), e.g.
`drift.psi > 0.2 on any feature in 2 of the last 3 windows`,
`quality.roc_auc < 0.68 in the latest window`, `profile.null_fraction > 0.1 on dep_delay`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from lakestack.errors import MonitoringError
from lakestack.metric_catalog import RULE_TABLES, rule_metric_misfit
from lakestack.rule_grammar import RuleCondition, parse_rule

if TYPE_CHECKING:
    import polars as pl

    from lakestack.metric_catalog import ProblemType

__all__ = ["METRICS", "Condition", "Evaluation", "parse_condition"]

METRICS = RULE_TABLES
"""The metrics a rule may name per table (the catalog's; `quality.*` depends on the problem)."""
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class Evaluation:
    """A condition's outcome: whether it holds, and the evidence."""

    holds: bool
    message: str
    value: float | None
    window_start: object | None


@dataclass(frozen=True)
class Condition(RuleCondition):
    """A parsed rule condition that evaluates itself on a metric table's rows."""

    def evaluate(self, frame: pl.DataFrame | None) -> Evaluation:
        """Evaluate on the metric table's rows (None or empty: not enough data, not firing)."""
        import polars as pl

        if frame is None or frame.is_empty():
            return Evaluation(False, f"{self.text}: no {self.table} metrics yet", None, None)
        if self.table == "drift" and "reference" in frame.columns:
            frame = frame.filter(pl.col("reference") == self.reference)
        if self.table == "profile":
            frame = frame.filter(pl.col("slice") == "all").with_columns(
                (pl.col("nulls") / pl.col("count")).alias("null_fraction")
            )
        if self.table == "quality" and self.metric != "labeled_rows":
            # windows whose labels have not arrived yet say nothing about quality
            frame = frame.filter(pl.col("labeled_rows") > 0)
        if self.column is not None and "column" in frame.columns:
            frame = frame.filter(pl.col("column") == self.column)
        windows = sorted(frame.get_column("window_start").unique().to_list())[-self.m :]
        compare = _OPS[self.op]
        hits: list[tuple[object, str, float]] = []
        for start in windows:
            rows = frame.filter(pl.col("window_start") == start)
            matched = [
                (str(r.get("column") or self.table), float(r[self.metric]))
                for r in rows.iter_rows(named=True)
                if r[self.metric] is not None
                and r[self.metric] == r[self.metric]  # not NaN
                and compare(float(r[self.metric]), self.threshold)
            ]
            if matched:
                worst = max(matched, key=lambda x: abs(x[1] - self.threshold))
                hits.append((start, *worst))
        holds = len(hits) >= self.n
        if not hits:
            return Evaluation(
                holds, f"{self.text}: clear in the last {len(windows)} window(s)", None, None
            )
        where = ", ".join(f"{col} {val:.4g} ({start:%Y-%m-%d %H:%M})" for start, col, val in hits)  # type: ignore[str-format]
        start, _, value = hits[-1]
        return Evaluation(
            holds,
            f"{self.text}: {len(hits)} of the last {len(windows)} window(s): {where}",
            value,
            start,
        )


def parse_condition(text: str, rule: str = "", problem: ProblemType | None = None) -> Condition:
    """Parse a rule condition.

    Args:
        text: the condition, e.g. `drift.psi > 0.2 on any feature in 2 of the last 3 windows`.
        rule: the rule's name, for error messages.
        problem: the monitored model's problem type: a `quality.<metric>` must fit it.

    Raises:
        MonitoringError: the condition does not follow the grammar, or names a metric that its
            table (or the model's problem type) does not have; the message names the rule.
    """
    parsed = parse_rule(text, rule)
    misfit = rule_metric_misfit(parsed.table, parsed.metric, problem)
    if misfit:
        who = f"alert rule {rule!r}" if rule else "alert condition"
        raise MonitoringError(f"{who}: {misfit} (in {parsed.text!r})")
    return Condition(**asdict(parsed))
