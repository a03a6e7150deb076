"""Self-contained HTML pages for the reports: inline CSS and SVG, no scripts, no downloads."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakestack.validation._anomalies import ValidationReport
    from lakestack.validation._drift import ColumnDrift, DriftReport

__all__ = ["bar_chart", "drift_page", "validation_page", "written"]

_REFERENCE = "#8da2b8"
_CURRENT = "#e8833a"
_MAX_BARS = 25
_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;
  max-width:1060px;margin:2rem auto;padding:0 1.5rem;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2.2rem}
h3{font-size:1rem;margin:1.6rem 0 .2rem} .muted{color:#616e7c;font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.86rem;margin-top:.8rem}
th,td{text-align:left;padding:.4rem .55rem;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{background:#f5f7fa;font-weight:600} td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.hit td{background:#fff8f1}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.25rem;font-weight:600;
  font-size:.75rem;letter-spacing:.02em}
.fail{background:#fde8e8;color:#9b1c1c} .warn{background:#fdf6b2;color:#723b13}
.ok{background:#def7ec;color:#03543f}
.cards{display:flex;gap:1rem;margin:1.2rem 0} .card{border:1px solid #e4e7eb;border-radius:.4rem;
  padding:.7rem 1rem;min-width:9rem} .card b{display:block;font-size:1.4rem}
.legend{font-size:.8rem;color:#3e4c59} .sw{display:inline-block;width:.8rem;height:.8rem;
  margin:0 .3rem -.1rem 0;border-radius:2px} details{margin-top:1.5rem}
summary{cursor:pointer;font-weight:600} svg text{font-family:inherit}
"""


def validation_page(report: ValidationReport) -> str:
    """The HTML page of a validation report."""
    status = ("ok", "PASSED") if report.passed else ("fail", "FAILED")
    cards = _cards(
        [
            ("rows", f"{report.row_count:,}"),
            ("columns checked", str(len(report.columns_checked))),
            ("errors", str(len(report.errors))),
            ("warnings", str(len(report.warnings))),
        ]
    )
    if report.anomalies:
        rows = []
        for a in report.anomalies:
            share = "" if a.fraction is None else f"{a.fraction:.2%}"
            rows.append(
                f'<tr><td><span class="badge {a.severity.value}">{a.severity.value.upper()}'
                f"</span></td><td>{escape(a.column)}</td><td>{escape(a.kind.value)}</td>"
                f"<td>{escape(a.expected)}</td><td>{escape(a.found)}</td>"
                f'<td class="n">{share}</td><td>{escape(a.message)}</td></tr>'
            )
        table = (
            "<table><tr><th>severity</th><th>column</th><th>kind</th><th>expected</th>"
            "<th>found</th><th>share</th><th>message</th></tr>" + "".join(rows) + "</table>"
        )
    else:
        table = f"<p>No anomalies in {len(report.columns_checked)} columns.</p>"
    body = (
        f'<h1>Data validation <span class="badge {status[0]}">{status[1]}</span></h1>'
        f'<p class="muted">{_generated()}</p>{cards}<h2>Anomalies</h2>{table}'
    )
    return _page("Data validation report", body)


def drift_page(report: DriftReport) -> str:
    """The HTML page of a drift report: a summary table and a chart per column."""
    t = report.thresholds
    drifted = [c for c in report.columns if c.drifted]
    stable = [c for c in report.columns if not c.drifted]
    cards = _cards(
        [
            ("rows", f"{report.row_count:,}"),
            ("columns compared", str(len(report.columns))),
            ("drifted", f"{len(drifted)} ({report.share_drifted:.0%})"),
            ("skipped", str(len(report.skipped))),
        ]
    )
    rules = (
        f"Drifted when PSI &gt; {t.psi:g}, Jensen-Shannon &gt; {t.jensen_shannon:g} or a test's "
        f"p-value &lt; {t.p_value:g}, whichever is the column's method."
    )
    rows = []
    for c in report.columns:
        flag = '<span class="badge fail">DRIFT</span>' if c.drifted else ""
        rows.append(
            f'<tr class="{"hit" if c.drifted else ""}"><td>{escape(c.column)}</td>'
            f"<td>{escape(c.logical_type)}</td><td>{c.method.value}</td>"
            f'<td class="n">{_num(c.statistic)}</td><td class="n">{_num(c.p_value)}</td>'
            f'<td class="n">{c.threshold:g}</td><td class="n">{_num(c.psi)}</td>'
            f'<td class="n">{_num(c.jensen_shannon)}</td><td class="n">{c.n_current:,}</td>'
            f"<td>{flag}</td></tr>"
        )
    table = (
        "<table><tr><th>column</th><th>type</th><th>method</th><th>statistic</th>"
        "<th>p-value</th><th>threshold</th><th>PSI</th><th>JS</th><th>rows</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )
    legend = (
        f'<p class="legend"><span class="sw" style="background:{_REFERENCE}"></span>reference '
        f'&nbsp; <span class="sw" style="background:{_CURRENT}"></span>current '
        "&nbsp; (share of rows per bin)</p>"
    )
    charts = "".join(_column_chart(c) for c in drifted) or "<p>No column drifted.</p>"
    others = ""
    if stable:
        others = (
            f"<details><summary>Columns without drift ({len(stable)})</summary>"
            + "".join(_column_chart(c) for c in stable)
            + "</details>"
        )
    skipped = ""
    if report.skipped:
        items = "".join(
            f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in report.skipped.items()
        )
        skipped = f"<h2>Skipped columns</h2><ul>{items}</ul>"
    body = (
        f'<h1>Data drift</h1><p class="muted">{_generated()}</p>{cards}<p>{rules}</p>'
        f"<h2>Summary</h2>{table}<h2>Drifted columns</h2>{legend}{charts}{others}{skipped}"
    )
    return _page("Data drift report", body)


def bar_chart(labels: Sequence[str], reference: Sequence[float], current: Sequence[float]) -> str:
    """An SVG chart of two distributions over the same bins, bars side by side.

    Past 25 bins, the smallest are merged into "(rest)" so that the labels stay readable.
    """
    labels, reference, current = _merge_small(list(labels), list(reference), list(current))
    n = len(labels)
    width, top, plot_h = 1000, 14, 190
    longest = max((len(s) for s in labels), default=0)
    # About 6.5 px per character at 12 px: rotate the labels when they would collide.
    rotate = min(longest, 22) * 6.5 > 0.92 * (width - 60) / n
    left = 110 if rotate else 52
    label_h = 110 if rotate else 28
    height = top + plot_h + label_h
    plot_w = width - left - 10
    peak = _nice_ceiling(max([*reference, *current, 1e-9]))
    group = plot_w / n
    bar = min(group * 0.38, 60.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" font-size="12">'
    ]
    for k in range(5):
        value = peak * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{"#9aa5b1" if k == 0 else "#e4e7eb"}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#616e7c">'
            f"{_percent(value)}</text>"
        )
    for i, (label, ref, cur) in enumerate(zip(labels, reference, current, strict=True)):
        x = left + group * i + group / 2
        tip = escape(f"{label}: reference {ref:.2%}, current {cur:.2%}")
        parts.append(f"<g><title>{tip}</title>")
        for offset, value, color in ((-bar, ref, _REFERENCE), (0.0, cur, _CURRENT)):
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{color}" rx="1.5"/>'
            )
        parts.append("</g>")
        text = escape(label if len(label) <= 22 else label[:21] + "…")
        y = top + plot_h + 16
        if rotate:
            parts.append(
                f'<text transform="translate({x:.1f},{y - 4}) rotate(-40)" text-anchor="end" '
                f'fill="#3e4c59">{text}</text>'
            )
        else:
            parts.append(
                f'<text x="{x:.1f}" y="{y}" text-anchor="middle" fill="#3e4c59">{text}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _column_chart(c: ColumnDrift) -> str:
    verdict = '<span class="badge fail">DRIFT</span>' if c.drifted else ""
    if c.p_value is None:
        rule = f"{c.method.value} {_num(c.statistic)} {'&gt;' if c.drifted else '&le;'} {c.threshold:g}"
    else:
        rule = f"{c.method.value} p-value {_num(c.p_value)} {'&lt;' if c.drifted else '&ge;'} {c.threshold:g}"
    others = [("psi", c.psi), ("jensen_shannon", c.jensen_shannon)]
    if c.ks_statistic is not None:
        others.append(("ks", c.ks_statistic))
    if c.chi2_statistic is not None:
        others.append(("chi_square", c.chi2_statistic))
    also = ", ".join(f"{name} {_num(v)}" for name, v in others if name != c.method.value)
    return (
        f"<h3>{escape(c.column)} {verdict}</h3>"
        f'<p class="muted">{escape(c.logical_type)} &middot; {rule} &middot; {also} &middot; '
        f"{c.n_reference:,} reference and {c.n_current:,} current values</p>"
        + bar_chart(c.bins, c.reference, c.current)
    )


def _merge_small(
    labels: list[str], reference: list[float], current: list[float]
) -> tuple[list[str], list[float], list[float]]:
    if len(labels) <= _MAX_BARS:
        return labels, reference, current
    order = sorted(range(len(labels)), key=lambda i: -max(reference[i], current[i]))
    keep = sorted(order[: _MAX_BARS - 1])
    rest = order[_MAX_BARS - 1 :]
    return (
        [labels[i] for i in keep] + ["(rest)"],
        [reference[i] for i in keep] + [sum(reference[i] for i in rest)],
        [current[i] for i in keep] + [sum(current[i] for i in rest)],
    )


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above ``value``."""
    power = float(10.0 ** math.floor(math.log10(value)))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value:
            return step * power
    return 10 * power


def _percent(share: float) -> str:
    text = f"{share * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _cards(items: Sequence[tuple[str, str]]) -> str:
    inner = "".join(f'<div class="card"><b>{escape(v)}</b>{escape(k)}</div>' for k, v in items)
    return f'<div class="cards">{inner}</div>'


def _num(value: float | None) -> str:
    if value is None:
        return ""
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4f}"


def _generated() -> str:
    return f"Generated by lakestack on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def written(page: str, path: str | Path | None) -> str:
    """`page`, after writing it to `path` when one is given (a report's `to_html`)."""
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page
