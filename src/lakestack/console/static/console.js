/* The lakestack console: plain pages over the control plane's REST API (/api/v1), called with
 * the signed-in principal's bearer token. Each address is a page; links reload the page. */
(function () {
  "use strict";
  var settings = JSON.parse(document.body.dataset.settings);
  var main = document.getElementById("main");
  var TOKEN_KEY = "lakestack.token";
  var charts = window.LakestackCharts;

  // -- small helpers ---------------------------------------------------------------------

  function h(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : v);
    });
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { add(el, c); }); return; }
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
  function badge(text, state) { return h("span", { "class": "badge s-" + (state || text) }, text); }
  function when(iso) { return iso ? String(iso).replace("T", " ").slice(0, 19) : "–"; }
  function secs(s) {
    if (s === null || s === undefined) return "–";
    return s < 1 ? (s * 1000).toFixed(0) + " ms" : s < 120 ? s.toFixed(1) + " s" : (s / 60).toFixed(1) + " min";
  }
  function num(v, digits) {
    if (v === null || v === undefined || (typeof v === "number" && isNaN(v))) return "–";
    if (typeof v !== "number") return String(v);
    return Number.isInteger(v) ? String(v) : v.toFixed(digits === undefined ? 4 : digits);
  }
  function enc(s) { return encodeURIComponent(s); }
  function table(columns, rows, attrs) {
    return h("table", attrs || {},
      h("thead", {}, h("tr", {}, columns.map(function (c) { return h("th", {}, c); }))),
      h("tbody", {}, rows.length ? rows.map(function (r) {
        return h("tr", {}, r.map(function (cell) {
          return cell instanceof Node && cell.tagName === "TD" ? cell : h("td", {}, cell);
        }));
      }) : h("tr", {}, h("td", { colspan: columns.length, "class": "muted" }, "none"))));
  }
  function td(value, attrs) { return h("td", Object.assign({ "class": "num" }, attrs || {}), value); }
  function stat(label, value, key) {
    return h("div", { "class": "stat" }, h("b", { "data-stat": key || null }, value), h("span", {}, label));
  }
  function chartBox(tall) { return h("div", { "class": tall ? "chart tall" : "chart" }); }
  function errorBox(err) { return h("div", { "class": "error", role: "alert" }, err.message || String(err)); }

  // -- the token and the API ---------------------------------------------------------------

  (function takeTokenFromAddress() {
    var params = new URLSearchParams(location.search);
    if (params.has("token")) {
      localStorage.setItem(TOKEN_KEY, params.get("token"));
      params.delete("token");
      var rest = params.toString();
      history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
    }
  })();

  function ApiError(status, message, body) {
    this.status = status; this.message = message; this.body = body;
  }

  function api(path, options) {
    options = options || {};
    var headers = Object.assign({ Authorization: "Bearer " + (localStorage.getItem(TOKEN_KEY) || "-") },
      options.headers || {});
    var init = { method: options.method || "GET", headers: headers };
    if (options.json !== undefined) {
      init.body = JSON.stringify(options.json);
      headers["Content-Type"] = "application/json";
    } else if (options.body !== undefined) {
      init.body = options.body;
    }
    return fetch("/api/v1" + path, init).then(function (response) {
      return response.text().then(function (text) {
        var body = text ? JSON.parse(text) : null;
        if (response.ok) return body;
        var detail = body && body.detail !== undefined ? body.detail : text;
        if (typeof detail !== "string") detail = JSON.stringify(detail);
        throw new ApiError(response.status, detail || response.statusText, body);
      });
    });
  }

  // -- the frame: navigation and the environment ------------------------------------------

  var parts = location.pathname.replace(/^\/ui\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  var env = null;

  function link(path, text) { return h("a", { href: "/ui/" + enc(env) + path }, text); }

  function frame(environments) {
    var nav = document.getElementById("nav");
    var pages = [["", "Overview"], ["/runs", "Runs"], ["/tables", "Tables"], ["/models", "Models"],
      ["/endpoints", "Endpoints"], ["/monitors", "Monitors"], ["/try", "Try the model"]];
    var current = "/" + (parts[1] || "");
    pages.forEach(function (p) {
      var active = p[0] === current || (p[0] === "" && current === "/");
      nav.appendChild(h("a", { href: "/ui/" + enc(env) + p[0], "class": active ? "active" : null }, p[1]));
    });
    var mine = environments.filter(function (e) { return e.name === env; })[0];
    var select = h("select", { "aria-label": "environment", onchange: function () {
      location.href = "/ui/" + enc(select.value) + "/" + parts.slice(1).join("/");
    } }, environments.map(function (e) {
      return h("option", { value: e.name, selected: e.name === env }, e.name);
    }));
    var who = document.getElementById("who");
    add(who, [mine.principal + (mine.role ? " · " + mine.role : " · single-user") +
      (mine.protected ? " (protected)" : ""), select, " ",
      h("a", { href: "#", onclick: function (ev) {
        ev.preventDefault(); localStorage.removeItem(TOKEN_KEY); location.href = "/ui/login";
      } }, "sign out")]);
    document.title = "lakestack · " + env + " · " + (pages.filter(function (p) { return p[0] === current; })[0] || ["", "Overview"])[1];
  }

  function login(message) {
    document.title = "lakestack · sign in";
    var input = h("input", { type: "password", name: "token", placeholder: "lks_…", autocomplete: "off" });
    clear(main).appendChild(h("div", { "class": "login card" },
      h("h1", {}, "Sign in to " + settings.project),
      message ? h("div", { "class": "error" }, message) : null,
      h("p", {}, "Paste a token: ", h("code", {}, "lakestack access token create <you> --env <env>"),
        ". A single-user project opens from the address ", h("code", {}, "lakestack ui"), " printed."),
      h("form", { onsubmit: function (ev) {
        ev.preventDefault();
        localStorage.setItem(TOKEN_KEY, input.value.trim());
        location.href = "/ui/";
      } }, input, h("p", {}, h("button", { type: "submit" }, "Sign in")))));
  }

  function start() {
    if (parts[0] === "login") { login(); return; }
    api("/environments").then(function (environments) {
      var names = environments.map(function (e) { return e.name; });
      if (!parts.length || names.indexOf(parts[0]) < 0) {
        location.replace("/ui/" + enc(names[0]) + "/");
        return;
      }
      env = parts[0];
      frame(environments);
      var page = PAGES[parts[1] || ""];
      if (!page) throw new ApiError(404, "no page " + location.pathname);
      clear(main);
      return page(parts.slice(2));
    }).then(function () {
      // the page has drawn: when, since the navigation started (benchmarks read it)
      document.body.dataset.readyMs = performance.now().toFixed(1);
      document.body.dataset.ready = "ok";
    }).catch(function (err) {
      document.body.dataset.ready = "error";
      if (err.status === 401) { login(err.message); return; }
      clear(main).appendChild(errorBox(err));
    });
  }

  function base() { return "/envs/" + enc(env); }

  // -- Overview -----------------------------------------------------------------------------

  function overview() {
    return api(base() + "/overview").then(function (o) {
      add(main, h("h1", {}, "Overview of " + env));
      add(main, h("div", { "class": "grid" },
        h("div", { "class": "card" }, h("h2", {}, "Recent runs"), runTable(o.runs)),
        h("div", { "class": "card" }, h("h2", {}, "Models"), table(["model", "staging", "production", "latest"],
          o.models.map(function (m) {
            return [link("/models/" + enc(m.name), m.name), td(vOf(m.aliases.staging), { "data-model-staging": m.name }),
              td(vOf(m.aliases.production), { "data-model-production": m.name }), td(vOf(m.latest_version))];
          }))),
        h("div", { "class": "card" }, h("h2", {}, "Endpoints"), endpointTable(o.endpoints)),
        h("div", { "class": "card" }, h("h2", {}, "Firing alerts"), table(["monitor", "rule", "since", "message"],
          o.alerts.map(function (a) {
            return [link("/monitors/" + enc(a.monitor), a.monitor), a.rule, when(a.fired_at), a.message];
          }), { id: "firing-alerts" })),
        h("div", { "class": "card" }, h("h2", {}, "Last deployments"), table(["deployed", "commit", "by", "action"],
          o.deployments.map(function (d) {
            return [when(d.deployed_at), h("code", {}, String(d.code_commit || "").slice(0, 10)), d.principal, d.action];
          })))));
    });
  }
  function vOf(v) { return v === null || v === undefined ? "–" : "v" + v; }

  function runTable(runs) {
    return table(["run", "job", "status", "trigger", "started", "took"], runs.map(function (r) {
      return [link("/runs/" + enc(r.run_id), r.run_id), r.job, badge(r.status), r.trigger,
        when(r.started_at), td(secs(r.duration_s))];
    }), { "class": "runs" });
  }

  function endpointTable(endpoints) {
    return table(["endpoint", "model", "stage", "version", "health", ""], endpoints.map(function (e) {
      return [link("/endpoints/" + enc(e.name), e.name), link("/models/" + enc(e.model), e.model), badge(e.stage),
        td(vOf(e.version)), badge(e.health), link("/try/" + enc(e.name), "try it")];
    }));
  }

  // -- Runs ---------------------------------------------------------------------------------

  function runs(rest) {
    if (rest.length) return runPage(rest[0]);
    return api(base() + "/runs?limit=200").then(function (list) {
      add(main, [h("h1", {}, "Runs"), runTable(list)]);
    });
  }

  function runPage(runId) {
    return Promise.all([api(base() + "/runs/" + enc(runId)), api(base() + "/runs/" + enc(runId) + "/lineage"),
      api(base() + "/jobs")]).then(function (got) {
      var run = got[0], lineage = got[1];
      var job = got[2].filter(function (j) { return j.name === run.job; })[0];
      var final = {};
      run.tasks.forEach(function (t) { final[t.task] = t; });
      var names = Object.keys(final);
      var nodes = names.map(function (n) {
        var t = final[n];
        return { id: n, label: n + " · " + secs(t.duration_s), kind: "task", state: t.status, sub: t.status };
      });
      var edges = [];
      (job ? job.tasks : []).forEach(function (t) {
        (t.depends_on || []).forEach(function (d) { if (final[d] && final[t.name]) edges.push({ source: d, target: t.name }); });
      });
      var log = h("pre", { id: "task-log" }, "Choose a task to read the end of its log.");
      function showLog(task) {
        log.textContent = "loading the log of " + task + "…";
        api(base() + "/runs/" + enc(runId) + "/tasks/" + enc(task) + "/log?lines=300").then(function (l) {
          log.textContent = l.log || "(empty log)";
        }).catch(function (err) { log.textContent = err.message; });
      }
      var graphBox = chartBox();
      add(main, [
        h("h1", {}, "Run " + run.run_id + " of " + run.job + " "), badge(run.status),
        h("div", { "class": "stats" }, stat("took", secs(run.duration_s)), stat("trigger", run.trigger),
          stat("started", when(run.started_at)), stat("engine", run.engine),
          stat("code", String(run.code_commit || "–").slice(0, 10) + (run.code_dirty ? " (dirty)" : ""))),
        run.error ? h("div", { "class": "error" }, run.error) : null,
        h("h2", {}, "Tasks"), graphBox,
        table(["task", "status", "attempt", "took", "reads", "writes", ""], names.map(function (n) {
          var t = final[n];
          return [n, badge(t.status), td(t.attempt), td(secs(t.duration_s)), accesses(t.reads), accesses(t.writes),
            h("a", { href: "#", onclick: function (ev) { ev.preventDefault(); showLog(n); } }, "log")];
        })),
        h("h2", {}, "Log"), log,
        h("h2", {}, "Parameters"), h("pre", {}, JSON.stringify(run.params, null, 2)),
        h("h2", {}, "Table versions read and written"),
        table(["", "table", "version", "task", "operation"], lineage.reads.concat(lineage.writes).map(function (e) {
          return [e.kind, link("/tables/" + enc(e.table) + "?version=" + e.version, e.table), td(e.version), e.task, e.operation || ""];
        })),
      ]);
      charts.graph(graphBox, { nodes: nodes, edges: edges }, function (node) { showLog(node.id); });
    });
  }
  function accesses(list) {
    return (list || []).map(function (a) { return a.table + "@" + a.version; }).join(", ");
  }

  // -- Tables -------------------------------------------------------------------------------

  function tables(rest) {
    if (rest.length) return tablePage(rest[0]);
    return api(base() + "/tables").then(function (list) {
      add(main, [h("h1", {}, "Tables"), table(["table", "rows", "version", "last write", "by"], list.map(function (t) {
        var c = t.last_commit || { metadata: {} };
        return [link("/tables/" + enc(t.name), t.name), td(t.rows), td(t.version), when(c.timestamp),
          (c.metadata || {}).principal || ""];
      }))]);
    });
  }

  function tablePage(name) {
    var version = new URLSearchParams(location.search).get("version");
    return Promise.all([api(base() + "/tables/" + enc(name)), api(base() + "/tables/" + enc(name) + "/history?limit=50"),
      api(base() + "/lineage/graph?table=" + enc(name)).catch(function () { return { nodes: [], edges: [] }; })])
      .then(function (got) {
        var info = got[0], history = got[1], graph = got[2];
        var preview = h("div", {});
        var pick = h("select", { "aria-label": "version", onchange: function () { showPreview(pick.value); } },
          history.map(function (c) { return h("option", { value: c.version, selected: String(c.version) === String(version === null ? info.version : version) }, "v" + c.version); }));
        function showPreview(v) {
          api(base() + "/tables/" + enc(name) + "/preview?limit=20&version=" + enc(v)).then(function (p) {
            clear(preview).appendChild(table(p.columns, p.rows.map(function (r) {
              return p.columns.map(function (c) { var x = r[c]; return x !== null && typeof x === "object" ? JSON.stringify(x) : x; });
            }), { id: "preview" }));
          }).catch(function (err) { clear(preview).appendChild(errorBox(err)); });
        }
        var graphBox = chartBox(true);
        add(main, [
          h("h1", {}, name),
          h("div", { "class": "stats" }, stat("rows", info.rows, "rows"), stat("version", info.version, "version"),
            stat("files", info.files), stat("size", (info.size_bytes / 1024).toFixed(0) + " KiB")),
          h("h2", {}, "Schema"), table(["column", "type"], info.columns.map(function (c) { return [c.name, h("code", {}, c.type)]; })),
          h("h2", {}, "History"), table(["version", "when", "operation", "rows added", "by", "run", "job/task", "commit"],
            history.map(function (c) {
              var m = c.metadata || {};
              return [td("v" + c.version), when(c.timestamp), c.operation, td(num(c.rows_added)), m.principal || "",
                m.run_id ? link("/runs/" + enc(m.run_id), m.run_id) : "", (m.job || "") + (m.task ? "/" + m.task : ""),
                h("code", {}, String(m.code_commit || "").slice(0, 10))];
            })),
          h("h2", {}, "Preview at version ", pick), preview,
          h("h2", {}, "Lineage: runs and model versions around it"), graphBox,
        ]);
        showPreview(pick.value);
        charts.graph(graphBox, graph, function (node) {
          if (node.id.indexOf("table:") === 0) location.href = "/ui/" + enc(env) + "/tables/" + enc(node.id.slice(6));
          else if (node.id.indexOf("run:") === 0) location.href = "/ui/" + enc(env) + "/runs/" + enc(node.id.split(":")[1]);
          else if (node.id.indexOf("model:") === 0) location.href = "/ui/" + enc(env) + "/models/" + enc(node.id.split(":")[1]);
        });
      });
  }

  // -- Models -------------------------------------------------------------------------------

  function models(rest) {
    if (rest.length) return modelPage(rest[0]);
    return api(base() + "/models").then(function (list) {
      add(main, [h("h1", {}, "Models"), table(["model", "staging", "production", "latest", "updated"], list.map(function (m) {
        return [link("/models/" + enc(m.name), m.name), td(vOf(m.aliases.staging)), td(vOf(m.aliases.production)),
          td(vOf(m.latest_version)), when(m.updated)];
      }))]);
    });
  }

  function metricsOf(v) {
    try { return JSON.parse(v.tags["lakestack.metrics"] || "{}"); } catch (e) { return {}; }
  }

  function modelPage(name) {
    return Promise.all([api(base() + "/models/" + enc(name) + "/versions"), api(base() + "/models/" + enc(name) + "/transitions")])
      .then(function (got) {
        var versions = got[0], transitions = got[1];
        var metricNames = [];
        versions.forEach(function (v) { Object.keys(metricsOf(v)).forEach(function (k) { if (metricNames.indexOf(k) < 0) metricNames.push(k); }); });
        var mlflow = settings.mlflow[env];
        var holders = {};
        versions.forEach(function (v) { v.aliases.forEach(function (a) { holders[a] = v.version; }); });
        add(main, [
          h("h1", {}, name),
          h("div", { "class": "stats" }, stat("production", vOf(holders.production), "production"),
            stat("staging", vOf(holders.staging), "staging"), stat("versions", versions.length)),
          h("h2", {}, "Versions"),
          table(["version", "aliases", "created", "run"].concat(metricNames).concat(["MLflow"]), versions.map(function (v) {
            var m = metricsOf(v);
            return [td("v" + v.version, { "data-version": v.version }), v.aliases.map(function (a) { return badge(a); }), when(v.created),
              v.run_id ? h("code", {}, v.run_id.slice(0, 8)) : ""].concat(metricNames.map(function (k) {
                return td(num(m[k]), { "data-metric": k + "@" + v.version });
              })).concat([mlflow ? h("a", { href: mlflow + "/#/models/" + enc(name) + "/versions/" + v.version, target: "_blank", rel: "noopener" }, "open")
                : h("span", { "class": "muted", title: "start `mlflow ui` and pass --mlflow-ui to lakestack ui" }, "–")]);
          }), { id: "versions" }),
          h("h2", {}, "Promote or roll back"), promoteForm(name, versions),
          h("h2", {}, "Transition history"),
          table(["when", "stage", "action", "outcome", "from", "to", "by", "reason"], transitions.slice().reverse().map(function (t) {
            return [when(t.ts), badge(t.stage), t.action, badge(t.outcome, t.outcome === "applied" ? "passed" : t.outcome), td(vOf(t.from_version)),
              td(vOf(t.to_version)), t.principal, t.reason];
          }), { id: "transitions" }),
        ]);
      });
  }

  function gateTable(report) {
    return h("div", { id: "gates" },
      h("p", {}, "Gates of v" + report.version + " for " + report.stage + (report.baseline_version ? " against v" + report.baseline_version : "") + ": ",
        badge(report.passed ? "passed" : "failed")),
      table(["gate", "kind", "result", "severity", "message"], report.results.map(function (g) {
        return [g.name, g.kind, badge(g.passed ? "passed" : "failed"), g.severity, g.message];
      })));
  }

  function promoteForm(name, versions) {
    var out = h("div", {});
    var version = h("select", { name: "version", "aria-label": "version" }, versions.map(function (v) { return h("option", { value: v.version }, "v" + v.version); }));
    var stage = h("select", { name: "stage", "aria-label": "stage" }, h("option", { value: "staging" }, "staging"), h("option", { value: "production" }, "production"));
    var reason = h("input", { name: "reason", placeholder: "why (recorded)" });
    var promote = h("button", { type: "button", id: "promote", disabled: true, onclick: function () {
      promote.disabled = true;
      api(base() + "/models/" + enc(name) + "/promote", { method: "POST", json: { version: Number(version.value), to: stage.value, reason: reason.value } })
        .then(function (p) {
          clear(out).appendChild(h("div", { "class": "notice", id: "promoted" }, "v" + p.version + " now holds " + p.stage + (p.previous_version ? " (was v" + p.previous_version + ")" : "") + "."));
          setTimeout(function () { location.reload(); }, 800);
        }).catch(function (err) {
          clear(out).appendChild(errorBox(err));
          if (err.body && err.body.report) out.appendChild(gateTable(err.body.report));
        });
    } }, "Promote");
    var check = h("button", { type: "button", "class": "secondary", id: "check-gates", onclick: function () {
      clear(out).appendChild(h("p", { "class": "muted" }, "running the gates…"));
      promote.disabled = true;
      api(base() + "/models/" + enc(name) + "/versions/" + enc(version.value) + "/gates?stage=" + enc(stage.value), { method: "POST" })
        .then(function (report) {
          clear(out).appendChild(gateTable(report));
          promote.disabled = !report.passed;
        }).catch(function (err) { clear(out).appendChild(errorBox(err)); });
    } }, "Check the gates");
    var rollback = h("button", { type: "button", "class": "secondary", id: "rollback", onclick: function () {
      if (!confirm("Give " + stage.value + " back to its previous holder?")) return;
      api(base() + "/models/" + enc(name) + "/rollback", { method: "POST", json: { stage: stage.value, reason: reason.value } })
        .then(function (t) {
          clear(out).appendChild(h("div", { "class": "notice" }, stage.value + " is back at " + vOf(t.to_version) + "."));
          setTimeout(function () { location.reload(); }, 800);
        }).catch(function (err) { clear(out).appendChild(errorBox(err)); });
    } }, "Roll back");
    [version, stage].forEach(function (s) { s.addEventListener("change", function () { promote.disabled = true; clear(out); }); });
    return h("div", {}, h("form", { "class": "inline", onsubmit: function (ev) { ev.preventDefault(); } },
      h("label", {}, "version", version), h("label", {}, "to", stage), h("label", {}, "reason", reason), check, promote, rollback),
      h("p", { "class": "muted" }, "The gates run first and are shown; the alias moves only when they pass and your role allows it."), out);
  }

  // -- Endpoints ----------------------------------------------------------------------------

  function endpoints(rest) {
    if (rest.length) return endpointPage(rest[0]);
    return api(base() + "/endpoints").then(function (list) {
      add(main, [h("h1", {}, "Endpoints"), endpointTable(list)]);
    });
  }

  function series(buckets, values, name) {
    return { name: name, data: buckets.map(function (b, i) { return [b, values[i]]; }) };
  }

  function endpointPage(name) {
    return Promise.all([api(base() + "/endpoints/" + enc(name)), api(base() + "/endpoints/" + enc(name) + "/traffic")]).then(function (got) {
      var e = got[0], t = got[1], tot = t.totals;
      var split = Object.keys(e.traffic || {}).length ? JSON.stringify(e.traffic) : "all to " + e.stage;
      var boxes = [chartBox(), chartBox(), chartBox(), chartBox()];
      add(main, [
        h("h1", {}, "Endpoint " + name + " "), badge(e.health),
        h("p", {}, "Serves ", link("/models/" + enc(e.model), e.model), " @ " + e.stage + " (" + vOf(e.version) + ") on ",
          h("code", {}, e.url), " · traffic: " + split + " · ", link("/try/" + enc(name), "try it")),
        h("div", { "class": "stats" }, stat("requests", tot.requests, "requests"), stat("rows", tot.rows, "rows"),
          stat("errors", num(tot.errors), "errors"), stat("requests/s", num(tot.rate_per_s, 2)),
          stat("p50 latency (ms)", num(tot.latency_p50_ms, 2), "p50"), stat("p95 (ms)", num(tot.latency_p95_ms, 2), "p95"),
          stat("p99 (ms)", num(tot.latency_p99_ms, 2), "p99")),
        h("p", { "class": "muted" }, "From " + t.table + (t.bucket ? ", per " + t.bucket : "") + ": " + when(tot.first) + " to " + when(tot.last) + "."),
        h("div", { "class": "grid" }, boxes),
      ]);
      var b = t.buckets;
      charts.lines(boxes[0], { title: "Requests per " + (t.bucket || "bucket"), series: b.length ? [series(b, t.requests, "requests"), series(b, t.rows, "rows")] : [] });
      charts.lines(boxes[1], { title: "Latency percentiles", unit: "ms", series: b.length ? ["p50", "p95", "p99"].map(function (q) { return series(b, t.latency_ms[q], q); }) : [] });
      charts.lines(boxes[2], { title: "Error requests by HTTP status", bars: true, empty: "no errors",
        categories: b.map(function (x) { return when(x).slice(5, 16); }),
        series: Object.keys(t.errors || {}).map(function (k) { return { name: k, data: t.errors[k] }; }) });
      var p = t.predictions || { buckets: [] };
      charts.lines(boxes[3], { title: "Predictions: quantiles per " + (t.bucket || "bucket"), series: p.buckets.length ? ["p05", "p25", "p50", "p75", "p95"].map(function (q) { return series(p.buckets, p[q], q); }) : [] });
    });
  }

  // -- Monitors -----------------------------------------------------------------------------

  function monitors(rest) {
    if (rest.length) return monitorPage(rest[0]);
    return api(base() + "/monitors").then(function (list) {
      add(main, [h("h1", {}, "Monitors"), table(["monitor", "table", "model", "window", "rules"], list.map(function (m) {
        return [link("/monitors/" + enc(m.name), m.name), m.table, m.model, m.window, td(m.alerts.length)];
      }))]);
    });
  }

  function monitorPage(name) {
    return api(base() + "/monitors/" + enc(name) + "/dashboard").then(function (d) {
      var driftBox = chartBox(true), qualityBox = chartBox(true);
      add(main, [
        h("h1", {}, "Monitor " + name),
        h("p", {}, "Watches " + d.table + " of ", link("/models/" + enc(d.model), d.model), " in windows of " + d.window + "."),
        h("h2", {}, "Drift"), driftBox,
        h("h2", {}, "Quality"), qualityBox,
        h("h2", {}, "Alerts"), table(["window", "rule", "state", "fired", "message"], d.alerts.slice().reverse().map(function (a) {
          return [when(a.window_start), a.rule, badge(a.state), when(a.fired_at), a.message];
        }), { id: "alerts" }),
        h("h2", {}, "Retrainings"), table(["run", "job", "status", "started", "trigger"], d.quality.retrainings.slice().reverse().map(function (r) {
          return [link("/runs/" + enc(r.run_id), r.run_id), r.job, badge(r.status), when(r.started_at), r.trigger];
        }), { id: "retrainings" }),
      ]);
      charts.drift(driftBox, d.drift);
      var chart = charts.quality(qualityBox, d.quality);
      if (chart) qualityBox.dataset.markers = JSON.stringify(chart.getOption().series.filter(function (s) { return s.markLine; })
        .map(function (s) { return s.markLine.data.map(function (m) { return m.name; }); })[0] || []);
    });
  }

  // -- Try the model ------------------------------------------------------------------------

  function tryPage(rest) {
    if (!rest.length) {
      return api(base() + "/endpoints").then(function (list) {
        if (list.length === 1) { location.replace("/ui/" + enc(env) + "/try/" + enc(list[0].name)); return; }
        add(main, [h("h1", {}, "Try the model"), h("p", {}, "Choose an endpoint:"), endpointTable(list)]);
      });
    }
    var name = rest[0];
    return api(base() + "/endpoints/" + enc(name) + "/form").then(function (f) {
      var inputs = {};
      var result = h("div", { id: "result" });
      var fields = f.fields.map(function (field) {
        var type = { integer: "number", long: "number", float: "number", double: "number" }[field.type] || "text";
        var input = h("input", { name: field.name, type: type, step: type === "number" ? "any" : null,
          value: field.default === null || field.default === undefined ? "" : String(field.default) });
        inputs[field.name] = { el: input, type: field.type };
        return h("label", {}, field.name + " (" + field.type + ")", input);
      });
      function record() {
        var out = {};
        Object.keys(inputs).forEach(function (k) {
          var v = inputs[k].el.value, t = inputs[k].type;
          if (v === "") out[k] = null;
          else if (t === "integer" || t === "long") out[k] = parseInt(v, 10);
          else if (t === "float" || t === "double") out[k] = parseFloat(v);
          else if (t === "boolean") out[k] = v === "true";
          else out[k] = v;
        });
        return out;
      }
      var form = h("form", { id: "predict-form", onsubmit: function (ev) {
        ev.preventDefault();
        clear(result).appendChild(h("p", { "class": "muted" }, "asking the endpoint…"));
        api(base() + "/endpoints/" + enc(name) + "/predict", { method: "POST", json: { records: [record()] } }).then(function (r) {
          var shown = r.predictions[0];
          clear(result).appendChild(h("div", { "class": "card" },
            h("h2", {}, "Prediction"), h("p", {}, h("b", { id: "prediction", "data-value": JSON.stringify(shown) }, typeof shown === "object" ? JSON.stringify(shown) : String(shown))),
            h("p", { "class": "muted" }, "v" + r.version + " · request " + r.request_id),
            r.features.length ? [h("h2", {}, "Features looked up"), table(Object.keys(r.features[0]), [Object.keys(r.features[0]).map(function (k) { return num(r.features[0][k]); })], { id: "features" })] : null));
        }).catch(function (err) { clear(result).appendChild(errorBox(err)); });
      } }, h("div", { "class": "fields" }, fields), h("button", { type: "submit" }, "Predict"));
      var batch = h("div", { id: "batch" });
      var file = h("input", { type: "file", accept: ".csv,text/csv", id: "csv-file", onchange: function () {
        if (!file.files.length) return;
        clear(batch).appendChild(h("p", { "class": "muted" }, "scoring " + file.files[0].name + "…"));
        file.files[0].text().then(function (text) {
          return api(base() + "/endpoints/" + enc(name) + "/score", { method: "POST", body: text, headers: { "Content-Type": "text/csv" } });
        }).then(function (r) {
          var url = URL.createObjectURL(new Blob([r.csv], { type: "text/csv" }));
          var lines = r.csv.split("\n").filter(Boolean).slice(0, 11).map(function (l) { return l.split(","); });
          clear(batch).appendChild(h("div", {},
            h("p", {}, h("b", { id: "scored-rows" }, r.rows), " rows scored, ", h("b", { id: "scored-predictions" }, r.predictions.length), " predictions. ",
              h("a", { href: url, download: "predictions.csv", id: "download" }, "Download predictions.csv")),
            table(lines[0], lines.slice(1))));
        }).catch(function (err) { clear(batch).appendChild(errorBox(err)); });
      } });
      add(main, [
        h("h1", {}, "Try " + f.model + " v" + f.version + " through " + name),
        f.keys_only ? h("p", { "class": "muted" }, "The endpoint looks these features up by key: " + f.looked_up.join(", ") + ". Send the keys.") : null,
        form, result,
        h("h2", {}, "Score a CSV file"),
        h("p", { "class": "muted" }, "A header row naming the columns above, then one row per line; every row is sent to the endpoint (and logged)."),
        file, batch,
      ]);
    });
  }

  var PAGES = { "": overview, runs: runs, tables: tables, models: models, endpoints: endpoints, monitors: monitors, "try": tryPage };

  start();
})();
