"""The console in a real Chromium against a served project: every page loads cleanly (and is
photographed for docs/console.md), shows the API's numbers, promotes only for a permitted
token, and tries the model the way the endpoint answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _browser import Tab, chromium
from _console_kit import MLFLOW_UI, SENSORS, ConsoleProject

SHOTS = Path(__file__).parents[2] / "docs" / "console"


@pytest.fixture(scope="module")
def tab(
    console_project: ConsoleProject, playwright: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tab]:
    """A browser signed in as alice (an admin) through the login form."""
    profile = tmp_path_factory.mktemp("chromium")
    with chromium(playwright, profile, console_project.url) as tab:
        sign_in(tab, console_project.token("alice"))
        yield tab


def sign_in(tab: Tab, token: str) -> None:
    tab.page.goto(tab.origin + "/ui/login")
    tab.page.fill("input[name=token]", token)
    tab.page.click("button[type=submit]")
    tab.page.wait_for_selector("main h1", timeout=120_000)


def pages(cp: ConsoleProject) -> dict[str, str]:
    """Every page of the console: its screenshot's name and its address."""
    run = cp.api("alice", "prod", "/runs?job=ingest")[0]["run_id"]
    return {
        "overview": "/ui/prod/",
        "runs": "/ui/prod/runs",
        "run": f"/ui/prod/runs/{run}",
        "tables": "/ui/prod/tables",
        "table": "/ui/prod/tables/silver.events",
        "models": "/ui/prod/models",
        "model": "/ui/prod/models/delay",
        "endpoints": "/ui/prod/endpoints",
        "endpoint": "/ui/prod/endpoints/delay",
        "monitors": "/ui/prod/monitors",
        "monitor": "/ui/prod/monitors/delay",
        "try": "/ui/prod/try/delay",
    }


def test_every_page_loads_without_console_errors_and_nothing_from_a_network(
    console_project: ConsoleProject, tab: Tab
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, path in pages(console_project).items():
        tab.clear()
        tab.open(path)
        assert tab.page.locator("main .error").count() == 0, (name, tab.page.inner_text("main"))
        assert tab.errors == [], (name, tab.errors)
        assert tab.elsewhere == [], (name, tab.elsewhere)
        tab.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert len(list(SHOTS.glob("*.png"))) >= 12


def _stat(tab: Tab, key: str) -> str:
    return str(tab.page.inner_text(f"[data-stat={key}]")).strip()


def test_the_numbers_on_the_pages_equal_the_apis(console_project: ConsoleProject, tab: Tab) -> None:
    cp = console_project
    tab.open("/ui/prod/")
    for model in cp.api("alice", "prod", "/models"):
        for stage in ("staging", "production"):
            shown = tab.page.inner_text(f'[data-model-{stage}="{model["name"]}"]')
            assert shown == f"v{model['aliases'][stage]}"
    firing = [
        a for a in cp.api("alice", "prod", "/monitors/delay/alerts") if a["state"] == "firing"
    ]
    assert tab.page.locator("#firing-alerts tbody tr").count() == len(firing) == 1

    traffic = cp.api("alice", "prod", "/endpoints/delay/traffic")["totals"]
    tab.open("/ui/prod/endpoints/delay")
    assert int(_stat(tab, "requests")) == traffic["requests"] > 60
    assert int(_stat(tab, "rows")) == traffic["rows"]
    assert int(_stat(tab, "errors")) == traffic["errors"] == 4  # the bad requests sent
    assert float(_stat(tab, "p95")) == pytest.approx(traffic["latency_p95_ms"], abs=0.006)

    versions = cp.api("alice", "prod", "/models/delay/versions")
    tab.open("/ui/prod/models/delay")
    for version in versions:
        metrics = json.loads(version["tags"]["lakestack.metrics"])
        shown = tab.page.inner_text(f'[data-metric="accuracy@{version["version"]}"]')
        assert float(shown) == pytest.approx(metrics["accuracy"], abs=5e-5)
        href = tab.page.get_attribute(
            f'tr:has([data-version="{version["version"]}"]) a[target=_blank]', "href"
        )
        assert href == f"{MLFLOW_UI}/#/models/delay/versions/{version['version']}"

    info = cp.api("alice", "prod", "/tables/inference.delay")
    tab.open("/ui/prod/tables/inference.delay")
    assert int(_stat(tab, "rows")) == info["rows"]
    assert int(_stat(tab, "version")) == info["version"]

    dashboard = cp.api("alice", "prod", "/monitors/delay/dashboard")
    tab.open("/ui/prod/monitors/delay")
    assert tab.page.locator("#alerts tbody tr").count() == len(dashboard["alerts"]) == 1
    assert (
        tab.page.locator("#retrainings tbody tr").count()
        == len(dashboard["quality"]["retrainings"])
        == 1
    )


def test_the_run_page_shows_the_apis_tasks_and_table_versions(
    console_project: ConsoleProject, tab: Tab
) -> None:
    cp = console_project
    run_id = cp.api("alice", "prod", "/runs?job=ingest")[0]["run_id"]
    run = cp.api("alice", "prod", f"/runs/{run_id}")
    lineage = cp.api("alice", "prod", f"/runs/{run_id}/lineage")
    final = {t["task"]: t for t in run["tasks"]}  # the last attempt of each task, as the page
    tab.open(f"/ui/prod/runs/{run_id}")
    tasks, versions = tab.page.locator("main table").all()[:2]
    shown = [row.locator("td").all_inner_texts()[:3] for row in tasks.locator("tbody tr").all()]
    assert shown == [[n, t["status"], str(t["attempt"])] for n, t in final.items()]
    accesses = lineage["reads"] + lineage["writes"]
    assert len(accesses) >= 1
    rows = [row.locator("td").all_inner_texts()[1:3] for row in versions.locator("tbody tr").all()]
    assert rows == [[a["table"], str(a["version"])] for a in accesses]
    assert json.loads(tab.page.locator("main pre").nth(1).inner_text()) == run["params"]


def _chart(tab: Tab, index: int) -> Any:
    """The option of the index-th chart of the page, as ECharts holds it."""
    return tab.page.evaluate(
        "i => echarts.getInstanceByDom(document.querySelectorAll('.chart')[i]).getOption()", index
    )


def test_the_monitor_page_draws_top_drift_first_and_alerts_retrainings_and_versions_on_quality(
    console_project: ConsoleProject, tab: Tab
) -> None:
    dashboard = console_project.api("alice", "prod", "/monitors/delay/dashboard")
    tab.open("/ui/prod/monitors/delay")
    drift = _chart(tab, 0)
    assert drift["yAxis"][0]["data"][-1] == "x1"  # the drifting feature on top
    assert [f["column"] for f in dashboard["drift"]["features"]] == ["x1", "x2"]
    quality = _chart(tab, 1)
    events = next(s for s in quality["series"] if s["name"] == "events")
    marks = [m["name"] for m in events["markLine"]["data"]]
    assert marks == ["alert x1_drift", "retraining retraining (succeeded)"]
    bands = [band[0]["name"] for band in events["markArea"]["data"]]
    assert bands == ["v1", "v2"] == [f"v{v['version']}" for v in dashboard["quality"]["versions"]]
    alert, retrain = (m["xAxis"] for m in events["markLine"]["data"])
    assert alert < retrain  # the retraining after the window that fired


def test_promote_moves_the_alias_only_for_a_permitted_token(
    console_project: ConsoleProject, playwright: Any, tmp_path: Path
) -> None:
    cp = console_project

    def production() -> int:
        return int(cp.api("alice", "staging", "/models/delay/versions/production")["version"])

    assert production() == 1
    for principal, allowed in (("dev1", False), ("dep1", True)):
        with chromium(playwright, tmp_path / principal, cp.url) as tab:
            sign_in(tab, cp.token(principal, "staging"))
            tab.open("/ui/staging/models/delay")
            tab.page.select_option("select[name=version]", "2")
            tab.page.select_option("select[name=stage]", "production")
            tab.page.click("#check-gates")
            tab.page.wait_for_selector("#gates", timeout=120_000)
            assert "passed" in tab.page.inner_text("#gates")  # shown before anything moves
            assert production() == 1
            tab.page.click("#promote")
            outcome = tab.page.wait_for_selector("main .error, #promoted", timeout=120_000)
            text = outcome.inner_text()
            if allowed:
                assert "v2 now holds production" in text
                assert production() == 2
            else:
                assert "dev1 may not promote models to production" in text
                assert production() == 1
    audit = cp.api("alice", "staging", "/audit?action=model.promote.production")
    assert {(a["principal"], a["outcome"]) for a in audit} >= {
        ("dev1", "denied"),
        ("dep1", "allowed"),
    }


def test_the_prediction_form_returns_the_endpoints_answer(
    console_project: ConsoleProject, tab: Tab
) -> None:
    record = {"x1": 0.25, "k": "c"}  # x2 is looked up by k
    direct = httpx.post(
        f"{console_project.endpoint.url}/invocations", json={"dataframe_records": [record]}
    ).json()["predictions"][0]
    tab.open("/ui/prod/try/delay")
    names = tab.page.locator("#predict-form input").evaluate_all("els => els.map(e => e.name)")
    assert names == ["x1", "k"]  # the keys, not the features looked up by them
    for name, value in record.items():
        tab.page.fill(f"input[name={name}]", str(value))
    tab.page.click("#predict-form button[type=submit]")
    shown = tab.page.wait_for_selector("#prediction", timeout=60_000)
    assert json.loads(shown.get_attribute("data-value") or "null") == direct
    looked_up = tab.page.locator("#features td").all_inner_texts()
    assert looked_up == ["c", f"{SENSORS['c']:.4f}"]
    tab.page.screenshot(path=str(SHOTS / "try.png"), full_page=True)  # with the answer


def test_a_csv_upload_returns_one_prediction_per_row(
    console_project: ConsoleProject, tab: Tab, tmp_path: Path
) -> None:
    rows = [(i / 10 - 1.2, "abcd"[i % 4]) for i in range(25)]
    text = "x1,k\n" + "".join(f"{a},{b}\n" for a, b in rows)
    upload = tmp_path / "rows.csv"
    upload.write_text(text)
    direct = httpx.post(
        f"{console_project.endpoint.url}/invocations",
        content=text,
        headers={"Content-Type": "text/csv"},
    ).json()["predictions"]
    tab.open("/ui/prod/try/delay")
    tab.page.set_input_files("#csv-file", str(upload))
    tab.page.wait_for_selector("#scored-predictions", timeout=60_000)
    assert tab.page.inner_text("#scored-predictions") == "25"
    with tab.page.expect_download() as download:
        tab.page.click("#download")
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == "x1,k,prediction"
    assert [int(line.rsplit(",", 1)[1]) for line in lines[1:]] == direct
    assert len(lines) == 26
