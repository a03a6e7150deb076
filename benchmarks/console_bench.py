"""Page loads of the web console on the demo project: each page from the navigation to the
moment it has drawn (its API calls answered, its tables and charts rendered), in Chromium,
side by side with the same API calls made by a plain HTTP client.

`lakestack ui` serves the project (a single-user project, as `lakestack demo` makes; its
launch token is read from what it prints). Each page is loaded once to warm the server, then
`--loads` times in a browser whose cache holds the scripts (a person moving between pages),
and once in a fresh profile (the first visit: the 690 KiB chart library is fetched). The
figure a page is judged by is the median warm load; the target is under 500 ms.

Run: `lakestack demo --dir /tmp/demo` once, then
`.venv/bin/python benchmarks/console_bench.py --project /tmp/demo` (`--env`, `--loads`).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_section
from lakestack.serving import ServerProcess, free_port

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TARGET_MS = 500.0
CHROMIUM = "/usr/bin/chromium"


def start_console(project: Path, port: int) -> tuple[ServerProcess, str]:
    """`lakestack ui` on the project; the server and the token its address holds."""
    command = [sys.executable, "-m", "lakestack", "ui", "-p", str(project), "--port", str(port)]
    log = Path(tempfile.mkdtemp()) / "ui.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LAKESTACK_")}
    server = ServerProcess(
        command, port, log, ready_path="/health", env=environ, name="lakestack ui"
    )
    server.start(timeout=300)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"\?token=(\S+)", log.read_text())
        if found:
            return server, found.group(1)
        time.sleep(0.2)
    raise RuntimeError(f"lakestack ui printed no address with a token: {log.read_text()}")


def pages(client: httpx.Client, env: str) -> dict[str, str]:
    """A page of each kind, for objects the project has."""
    base = f"/api/v1/envs/{env}"
    runs = client.get(f"{base}/runs?limit=20").json()
    tables = [t["name"] for t in client.get(f"{base}/tables").json()]
    models = [m["name"] for m in client.get(f"{base}/models").json()]
    endpoints = [e["name"] for e in client.get(f"{base}/endpoints").json()]
    monitors = [m["name"] for m in client.get(f"{base}/monitors").json()]
    run = next(
        (r["run_id"] for r in runs if r["job"] in ("training", "retraining")), runs[0]["run_id"]
    )
    table = next((t for t in tables if t.startswith("silver.")), tables[0])
    out = {"overview": f"/ui/{env}/", "runs": f"/ui/{env}/runs", "run": f"/ui/{env}/runs/{run}"}
    out |= {"tables": f"/ui/{env}/tables", "table": f"/ui/{env}/tables/{table}"}
    out |= {"models": f"/ui/{env}/models", "model": f"/ui/{env}/models/{models[0]}"}
    out |= {"endpoints": f"/ui/{env}/endpoints", "endpoint": f"/ui/{env}/endpoints/{endpoints[0]}"}
    out |= {"monitors": f"/ui/{env}/monitors", "monitor": f"/ui/{env}/monitors/{monitors[0]}"}
    out |= {"try": f"/ui/{env}/try/{endpoints[0]}"}
    return out


def load(page: Any, url: str, api: list[str]) -> float:
    """Load a page; milliseconds from the navigation to drawn. Its API calls go to `api`."""
    api.clear()
    page.goto(url)
    page.wait_for_selector("body[data-ready]", state="attached", timeout=120_000)
    if page.evaluate("document.body.dataset.ready") != "ok":
        raise RuntimeError(f"{url} failed: {page.inner_text('main')}")
    return float(page.evaluate("Number(document.body.dataset.readyMs)"))


def api_alone(client: httpx.Client, calls: list[str]) -> float:
    """Milliseconds for the page's API calls made at once by a plain client (as the page does)."""
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max(len(calls), 1)) as pool:
        for response in pool.map(client.get, calls):
            response.raise_for_status()
    return (time.perf_counter() - started) * 1000


def measure(origin: str, token: str, env: str, loads: int) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    headers = {"Authorization": f"Bearer {token}"}
    client = httpx.Client(base_url=origin, headers=headers, timeout=120)
    targets = pages(client, env)
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            tempfile.mkdtemp(), executable_path=CHROMIUM, args=FLAGS, headless=True
        )
        page = browser.new_page()
        calls: list[str] = []
        page.on(
            "request", lambda r: calls.append(r.url[len(origin) :]) if "/api/" in r.url else None
        )
        page.goto(f"{origin}/ui/?token={token}")
        page.wait_for_selector("body[data-ready]", state="attached", timeout=300_000)
        for name, path in targets.items():
            load(page, origin + path, calls)  # warm the server's caches and imports
            warm = [load(page, origin + path, calls) for _ in range(loads)]
            made = [c for c in calls if c != "/api/v1/environments"] + ["/api/v1/environments"]
            alone = statistics.median(api_alone(client, made) for _ in range(loads))
            fresh = playwright.chromium.launch_persistent_context(
                tempfile.mkdtemp(), executable_path=CHROMIUM, args=FLAGS, headless=True
            )
            cold_page = fresh.new_page()
            cold_page.goto(f"{origin}/ui/login")
            cold_page.evaluate(f"localStorage.setItem('lakestack.token', {token!r})")
            cold = load(cold_page, origin + path, [])
            fresh.close()
            rows.append(
                {
                    "page": name,
                    "path": path,
                    "warm": statistics.median(warm),
                    "max": max(warm),
                    "cold": cold,
                    "api": alone,
                    "calls": len(made),
                }
            )
            print(
                f"{name:10} warm {rows[-1]['warm']:7.1f} ms (max {max(warm):7.1f})  cold {cold:7.1f}"
                f"  API alone {alone:7.1f} ms ({len(made)} calls)",
                flush=True,
            )
        browser.close()
    return rows


def browser_version() -> str:
    """`Chromium <version>` as the browser the benchmark drives reports it."""
    done = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"Chromium [\d.]+", done.stdout)
    return found.group(0) if found else "Chromium (version unknown)"


def report(rows: list[dict[str, Any]], project: Path, env: str, loads: int, facts: str) -> str:
    lines = [
        "## Web console: page loads on the demo project (`benchmarks/console_bench.py`)",
        "",
        f"`lakestack ui` on a `lakestack demo` project ({facts}), environment `{env}`;"
        f" {browser_version()} headless. Warm: median of {loads} loads with the scripts cached"
        " (navigation start to the page drawn: API answered, tables and charts rendered);"
        " cold: the first visit in a fresh profile (the chart library fetched). API alone: the"
        " page's API calls made at once by httpx, without the browser. Target: under 500 ms.",
        "",
        "| page | warm (ms) | warm max (ms) | cold (ms) | API alone (ms) | page / API alone | under 500 ms |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ratio = r["warm"] / r["api"] if r["api"] else float("nan")
        ok = "yes" if r["warm"] < TARGET_MS else "**no**"
        lines.append(
            f"| {r['page']} | {r['warm']:.0f} | {r['max']:.0f} | {r['cold']:.0f} | {r['api']:.0f}"
            f" | {ratio:.1f}x | {ok} |"
        )
    lines += [
        "",
        f"Command: `.venv/bin/python benchmarks/console_bench.py --project <demo folder> --env {env} --loads {loads}`",
        "Load average at the end (1/5/15 min): "
        + " / ".join(f"{x:.1f}" for x in os.getloadavg())
        + ".",
    ]
    return "\n".join(lines)


def facts(client: httpx.Client, env: str) -> str:
    base = f"/api/v1/envs/{env}"
    tables = client.get(f"{base}/tables").json()
    inference = sum(t["rows"] for t in tables if t["name"].startswith("inference."))
    runs = len(client.get(f"{base}/runs?limit=10000").json())
    return f"{len(tables)} tables, {inference:,} inference rows, {runs} runs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--project", type=Path, required=True, help="A `lakestack demo --dir` folder."
    )
    parser.add_argument("--env", default="dev")
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="Do not write RESULTS.md.")
    args = parser.parse_args()
    server, token = start_console(args.project, free_port())
    try:
        origin = server.url
        rows = measure(origin, token, args.env, args.loads)
        about = facts(
            httpx.Client(
                base_url=origin, headers={"Authorization": f"Bearer {token}"}, timeout=120
            ),
            args.env,
        )
    finally:
        server.stop()
    text = report(rows, args.project, args.env, args.loads, about)
    print(text)
    if not args.no_write:
        write_section("console", text)


if __name__ == "__main__":
    main()
