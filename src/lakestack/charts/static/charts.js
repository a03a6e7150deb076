/* The charts of the lakestack console and of `lakestack monitor report`, drawn with the
 * vendored Apache ECharts build (echarts.min.js, loaded first). Each builder takes an element
 * and the data an API route returns, and returns the ECharts instance.
 */
(function () {
  "use strict";
  var PALETTE = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#0891b2", "#ca8a04", "#db2777",
    "#4b5563"];
  var BANDS = ["rgba(37,99,235,0.07)", "rgba(234,88,12,0.07)"];
  var STATES = { succeeded: "#16a34a", failed: "#dc2626", running: "#2563eb",
    cancelled: "#6b7280", skipped: "#9ca3af", reused: "#0891b2", table: "#475569",
    run: "#2563eb", model: "#9333ea" };

  function title(text) { return { text: text, left: 8, top: 4, textStyle: { fontSize: 13 } }; }
  function legend() { return { type: "scroll", right: 8, top: 4, width: "45%" }; }
  function time(iso) { return new Date(iso).getTime(); }

  function init(el) {
    var chart = echarts.init(el, null, { renderer: "svg" });
    if (window.ResizeObserver) new ResizeObserver(function () { chart.resize(); }).observe(el);
    return chart;
  }

  function fmt(v) {
    if (v === null || v === undefined || isNaN(v)) return "–";
    var a = Math.abs(v);
    return a >= 1000 || a === 0 ? String(Math.round(v * 100) / 100) : v.toPrecision(3);
  }

  function empty(el, text) {
    el.classList.add("chart-empty");
    el.textContent = text;
    return null;
  }

  /* Drift per window and feature, the features that drift most on top (one row each):
   * d = {windows: [iso], features: [{column, psi: [number|null per window], max}],
   *      threshold, hidden} */
  function drift(el, d) {
    if (!d.features.length || !d.windows.length) return empty(el, "no drift metrics yet");
    var columns = d.features.map(function (f) { return f.column; }).reverse();
    var cells = [];
    d.features.forEach(function (f, row) {
      f.psi.forEach(function (v, i) {
        if (v !== null) cells.push([i, d.features.length - 1 - row, v]);
      });
    });
    var t = d.threshold;
    var chart = init(el);
    chart.setOption({
      animation: false,
      title: title("PSI against the baseline, per window" + (d.hidden ?
        " (top " + d.features.length + "; " + d.hidden + " steadier features hidden)" : "")),
      tooltip: { formatter: function (p) {
        return columns[p.value[1]] + "<br>" + d.windows[p.value[0]].slice(0, 16) +
          "<br>PSI " + fmt(p.value[2]);
      } },
      grid: { left: 130, right: 24, top: 36, bottom: 64 },
      xAxis: { type: "category", data: d.windows.map(function (w) { return w.slice(0, 16); }),
        splitArea: { show: true } },
      yAxis: { type: "category", data: columns, axisLabel: { width: 120, overflow: "truncate" } },
      visualMap: { type: "piecewise", orient: "horizontal", left: "center", bottom: 0,
        pieces: [{ lt: t / 2, label: "< " + t / 2, color: "#dcfce7" },
          { gte: t / 2, lt: t, label: t / 2 + " – " + t, color: "#fde68a" },
          { gte: t, label: "≥ " + t + " (drift)", color: "#f87171" }] },
      series: [{ type: "heatmap", name: "PSI", data: cells,
        label: { show: d.windows.length <= 16, formatter: function (p) { return fmt(p.value[2]); },
          fontSize: 10 } }],
    });
    return chart;
  }

  /* Quality over time with alert and retraining markers and a band per served version:
   * d = {windows: [iso], metrics: {name: [number|null]}, alerts: [{at, rule, message}],
   *      retrainings: [{at, run_id, status, job}], versions: [{version, start, end}]} */
  function quality(el, d) {
    var names = Object.keys(d.metrics);
    if (!d.windows.length || !names.length) return empty(el, "no quality metrics yet (labels join later)");
    var unit = function (name) {  // scores in [0, 1] on the left, others (losses) on the right
      return d.metrics[name].every(function (v) { return v === null || (v >= 0 && v <= 1); });
    };
    var right = names.some(function (n) { return !unit(n); });
    var series = names.map(function (name, i) {
      return { type: "line", name: name, showSymbol: true, symbolSize: 5, connectNulls: false,
        color: PALETTE[i % PALETTE.length], yAxisIndex: unit(name) ? 0 : 1,
        data: d.windows.map(function (w, j) { return [w, d.metrics[name][j]]; }) };
    });
    var marks = [];
    (d.alerts || []).forEach(function (a) {
      marks.push({ xAxis: a.at, name: "alert " + a.rule, lineStyle: { color: "#dc2626", type: "solid", width: 2 },
        label: { formatter: "alert", color: "#dc2626" }, tip: a.message });
    });
    (d.retrainings || []).forEach(function (r) {
      marks.push({ xAxis: r.at, name: "retraining " + r.job + " (" + r.status + ")",
        lineStyle: { color: "#2563eb", type: "dashed", width: 2 },
        label: { formatter: "retrain", color: "#2563eb" }, tip: r.run_id });
    });
    var bands = (d.versions || []).map(function (v, i) {
      return [{ xAxis: v.start, name: "v" + v.version, itemStyle: { color: BANDS[i % 2] } },
        { xAxis: v.end }];
    });
    series.push({ type: "line", name: "events", data: [], silent: false,
      markLine: { symbol: "none", data: marks, tooltip: { formatter: function (p) {
        return p.name + (p.data.tip ? "<br>" + p.data.tip : "");
      } } },
      markArea: { silent: true, data: bands, label: { position: "insideTop", color: "#334155" } } });
    var times = d.windows.map(time).concat(marks.map(function (m) { return time(m.xAxis); }));
    var chart = init(el);
    chart.setOption({
      animation: false,
      title: title("Quality per window; alerts, retrainings and the version that served"),
      tooltip: { trigger: "axis" },
      legend: Object.assign(legend(), { data: names }),
      grid: { left: 56, right: right ? 56 : 24, top: 56, bottom: 32 },
      xAxis: { type: "time", min: Math.min.apply(null, times), max: Math.max.apply(null, times) },
      yAxis: [{ type: "value", scale: true, name: "score" },
        { type: "value", scale: true, name: right ? "loss / error" : "", show: right,
          splitLine: { show: false } }],
      series: series,
    });
    return chart;
  }

  /* Lines over time, d = {title, unit, series: [{name, data: [[iso, v]]}]}; or stacked bars
   * per bucket, d = {title, bars: true, categories: [label], series: [{name, data: [v]}]} */
  function lines(el, d) {
    var any = d.series.some(function (s) { return s.data.length; });
    if (!any) return empty(el, d.title + ": " + (d.empty || "no data yet"));
    var chart = init(el);
    chart.setOption({
      animation: false,
      title: title(d.title),
      tooltip: { trigger: "axis", valueFormatter: function (v) { return fmt(v) + (d.unit ? " " + d.unit : ""); } },
      legend: legend(),
      grid: { left: 56, right: 24, top: 48, bottom: 32 },
      xAxis: { type: d.bars ? "category" : "time", data: d.categories },
      yAxis: { type: "value", name: d.unit || "", scale: !d.bars },
      series: d.series.map(function (s, i) {
        return d.bars ? { type: "bar", stack: "all", name: s.name, data: s.data, barMaxWidth: 24,
          color: PALETTE[i % PALETTE.length] }
          : { type: "line", name: s.name, data: s.data, showSymbol: s.data.length < 40,
            color: PALETTE[i % PALETTE.length] };
      }),
    });
    return chart;
  }

  /* A graph laid out left to right by depth: d = {nodes: [{id, label, kind, state, sub}],
   * edges: [{source, target}]}; `onClick(node)` is called with a clicked node. */
  function graph(el, d, onClick) {
    if (!d.nodes.length) return empty(el, "nothing to draw");
    var depth = {};
    var incoming = {};
    d.nodes.forEach(function (n) { depth[n.id] = 0; incoming[n.id] = []; });
    d.edges.forEach(function (e) { if (incoming[e.target]) incoming[e.target].push(e.source); });
    for (var pass = 0; pass < d.nodes.length; pass++) {
      var moved = false;
      d.edges.forEach(function (e) {
        if (depth[e.source] !== undefined && depth[e.target] <= depth[e.source]) {
          depth[e.target] = depth[e.source] + 1; moved = true;
        }
      });
      if (!moved) break;
    }
    var rows = {};
    var data = d.nodes.map(function (n) {
      var x = depth[n.id];
      rows[x] = (rows[x] || 0) + 1;
      var color = STATES[n.state] || STATES[n.kind] || "#64748b";
      return { id: n.id, name: n.label, x: x * 220, y: rows[x] * 70, kind: n.kind,
        symbol: n.kind === "table" ? "roundRect" : n.kind === "model" ? "diamond" : "rect",
        symbolSize: n.kind === "model" ? [30, 30] : [150, 30], itemStyle: { color: color },
        label: { show: true, color: n.kind === "model" ? "#111" : "#fff", position:
          n.kind === "model" ? "right" : "inside", width: 140, overflow: "truncate",
          formatter: n.label }, tip: n.sub || "" };
    });
    var chart = init(el);
    chart.setOption({
      animation: false,
      tooltip: { formatter: function (p) {
        return p.dataType === "node" ? p.data.name + (p.data.tip ? "<br>" + p.data.tip : "") : "";
      } },
      series: [{ type: "graph", layout: "none", roam: true, data: data,
        edges: d.edges.map(function (e) { return { source: e.source, target: e.target }; }),
        edgeSymbol: ["none", "arrow"], edgeSymbolSize: 8,
        lineStyle: { color: "#94a3b8", width: 1.5, curveness: 0.1 } }],
    });
    if (onClick) chart.on("click", function (p) { if (p.dataType === "node") onClick(p.data); });
    return chart;
  }

  window.LakestackCharts = { drift: drift, quality: quality, lines: lines, graph: graph };
})();
