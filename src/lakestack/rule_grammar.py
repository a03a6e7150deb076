"""The grammar of alert rule conditions, parsed without evaluating anything.

::

    <table>.<metric> <op> <number> [on any feature | on <column>] [vs baseline | vs previous]
                                   [in the latest window | in <n> of the last <m> windows]

`table` is `drift`, `quality` or `profile`; `op` is one of `> >= < <= == !=`. Examples:
`drift.psi > 0.2 on any feature in 2 of the last 3 windows`,
`quality.roc_auc < 0.68 in the latest window`, `profile.null_fraction > 0.1 on dep_delay`.

A leaf module (it imports only the error tree and the metric catalog), so that the project file's validation and the
monitors that evaluate the rules read conditions the same way. Which metric names each table
has is the metric catalog's business; this module checks the sentence around them.

Example:
    >>> parse_rule("drift.psi > 0.2 on any feature in 2 of the last 3 windows").n
    2
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lakestack.errors import MonitoringError
from lakestack.metric_catalog import RULE_TABLES

__all__ = ["RULE_SYNTAX", "RuleCondition", "parse_rule"]

RULE_SYNTAX = (
    "<table>.<metric> <op> <number> [on any feature | on <column>] [vs baseline | vs previous] "
    "[in the latest window | in <n> of the last <m> windows]"
)

_GRAMMAR = re.compile(
    r"^(?P<table>\w+)\.(?P<metric>\w+)\s*(?P<op>>=|<=|==|!=|>|<)\s*"
    r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"(?:\s+on\s+(?:(?P<any>any\s+(?:feature|column))|(?:feature\s+|column\s+)?(?P<column>[\w.-]+)))?"
    r"(?:\s+(?:vs|against)\s+(?P<reference>baseline|previous))?"
    r"(?:\s+in\s+(?:the\s+)?(?P<latest>latest\s+window)"
    r"|\s+in\s+(?P<n>\d+)\s+of\s+the\s+last\s+(?P<m>\d+)\s+windows?)?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class RuleCondition:
    """A parsed condition.

    Attributes:
        text: the condition with its whitespace normalised.
        table: `drift`, `quality` or `profile`.
        metric: the metric's name, lower case (not checked against the table here).
        op: the comparison.
        threshold: the number compared with.
        column: the one column it watches (`on <column>`), None for any.
        reference: what drift compares with: `baseline` or `previous`.
        n: it holds when the comparison holds in `n` ...
        m: ... of the last `m` windows.
    """

    text: str
    table: str
    metric: str
    op: str
    threshold: float
    column: str | None = None
    reference: str = "baseline"
    n: int = 1
    m: int = 1


def parse_rule(text: str, rule: str = "") -> RuleCondition:
    """Parse a condition's sentence.

    Args:
        text: the condition, e.g. `drift.psi > 0.2 on any feature in 2 of the last 3 windows`.
        rule: the rule's name, for error messages.

    Raises:
        MonitoringError: the condition does not follow the grammar, names an unknown table,
            gives a quality metric a column, compares a non-drift metric with a reference, or
            asks for more windows than it looks at. The message names the rule and the fix.
    """
    who = f"alert rule {rule!r}" if rule else "alert condition"
    normal = " ".join(text.split())
    match = _GRAMMAR.match(normal)
    if match is None:
        raise MonitoringError(f"{who}: cannot parse {text!r}; expected {RULE_SYNTAX}")
    table, metric = match["table"].lower(), match["metric"].lower()
    if table not in RULE_TABLES:
        raise MonitoringError(
            f"{who}: unknown table {table!r} in {text!r}; use one of {', '.join(RULE_TABLES)}"
        )
    if table == "quality" and match["column"]:
        raise MonitoringError(f"{who}: quality metrics have no column; drop `on {match['column']}`")
    if match["reference"] and table != "drift":
        raise MonitoringError(f"{who}: `vs {match['reference']}` applies to drift metrics only")
    n, m = (int(match["n"]), int(match["m"])) if match["n"] else (1, 1)
    if not 1 <= n <= m:
        raise MonitoringError(f"{who}: `in {n} of the last {m} windows` needs 1 <= {n} <= {m}")
    return RuleCondition(
        text=normal,
        table=table,
        metric=metric,
        op=match["op"],
        threshold=float(match["value"]),
        column=match["column"],
        reference=(match["reference"] or "baseline").lower(),
        n=n,
        m=m,
    )
