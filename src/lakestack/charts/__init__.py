"""The charts of the web console and of the HTML reports, shipped inside the package.

`static/echarts.min.js` is a build of Apache ECharts 6.1 (Apache-2.0; `ECHARTS_LICENSE`,
`ECHARTS_NOTICE`) with only the parts lakestack draws with (line, bar, heatmap and graph
charts, the SVG renderer), made from `static/echarts-entry.js` with
`esbuild echarts-entry.js --bundle --minify --format=iife --legal-comments=eof`.
`static/charts.js` holds the chart builders (`LakestackCharts.drift`, `.quality`, `.lines`,
`.graph`) that the console's pages and `lakestack monitor report` call with the same data, so
a report and the console draw one chart the same way. Nothing is fetched from a network.

This module is a leaf: it imports no other lakestack module.

Example:
    >>> from lakestack.charts import inline_scripts
    >>> "LakestackCharts" in inline_scripts()
    True
"""

from __future__ import annotations

import functools
from importlib import resources

__all__ = ["ASSETS", "asset", "inline_scripts"]

ASSETS = ("echarts.min.js", "charts.js")
"""The scripts a page loads, in order."""


@functools.cache
def asset(name: str) -> bytes:
    """The bytes of a file of `static/` (`echarts.min.js`, `charts.js`).

    Raises:
        FileNotFoundError: no such file.
    """
    if "/" in name or name.startswith("."):
        raise FileNotFoundError(name)
    return (resources.files(__package__) / "static" / name).read_bytes()


def inline_scripts() -> str:
    """`<script>` elements holding ECharts and the chart builders, for a self-contained page."""
    parts = []
    for name in ASSETS:
        text = asset(name).decode("utf-8").replace("</script", "<\\/script")
        parts.append(f"<script>{text}</script>")
    return "\n".join(parts)
