"""The Grafana dashboard of the flights template queries what lakestack really exports.

Every metric and label name in the panels' PromQL is checked against the exposition text of a
real endpoint (after real requests) and of a real monitor run, so a renamed metric or label in
the code, or a typo in the dashboard, fails here instead of drawing an empty panel.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

import lakestack.templates
from lakestack.cli import main
from lakestack.config import load_project
from lakestack.lake import Lake
from lakestack.monitoring import prometheus_metrics, run_monitor
from lakestack.registry import load_model
from lakestack.serving import InferenceLog, create_app
from lakestack.validation import infer_schema

DASHBOARD = (
    Path(lakestack.templates.__file__).parent / "flights" / "grafana" / "lakestack-dashboard.json"
)
METRIC = re.compile(r"\b(lakestack_[A-Za-z0-9_]+)\s*(\{[^}]*\})?")
MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
LEGEND = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
LABEL_VALUES = re.compile(r"label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)")

Series = dict[str, set[str]]
"""Sample name (`lakestack_requests_total`, `..._bucket`) to the label names it carries."""


def series(text: str) -> Series:
    out: Series = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, set()).update(sample.labels)
    return out


def queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(where, PromQL, legend) of every panel target and query variable."""

    def walk(panels: list[dict[str, Any]]) -> Iterator[tuple[str, str, str]]:
        for panel in panels:
            for target in panel.get("targets", []):
                yield panel["title"], target["expr"], target.get("legendFormat", "")
            yield from walk(panel.get("panels", []))

    yield from walk(dashboard["panels"])
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"]
            match = LABEL_VALUES.fullmatch(query)
            assert match, f"variable {variable['name']}: expected label_values(...), got {query}"
            selector, label = match.groups()
            yield f"variable {variable['name']}", selector, f"{{{{{label}}}}}"


def problems(dashboard: dict[str, Any], exported: Series) -> list[str]:
    """Every metric or label name the dashboard uses that the exposition does not carry."""
    found: list[str] = []
    for where, expr, legend in queries(dashboard):
        metrics = METRIC.findall(expr)
        if not metrics:
            found.append(f"{where}: no lakestack metric in {expr}")
        names = {name for name, _ in metrics}
        for name, braces in metrics:
            if name not in exported:
                found.append(f"{where}: {name} is not exported")
                continue
            for label in MATCHER.findall(braces):
                if label not in exported[name]:
                    found.append(f"{where}: {name} has no label {label!r}")
        grouped = {
            label.strip()
            for part in GROUPING.findall(expr)
            for label in part.split(",")
            if label.strip()
        }
        for label in grouped:
            for name in names & exported.keys():
                if label not in exported[name]:
                    found.append(f"{where}: grouping by {label!r}, which {name} does not carry")
        kept = [exported[name] for name in names if name in exported]
        carried = grouped or (set.intersection(*kept) if kept else set())
        for label in LEGEND.findall(legend):
            if label not in carried:
                found.append(f"{where}: legend {{{{{label}}}}} is not a label of the result")
    return found


def _serving_exposition(tmp_path: Path) -> str:
    """GET /metrics of a real endpoint serving a tiny scikit-learn model, after real requests."""
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(int)
    data = pd.DataFrame({"a": x[:, 0], "b": x[:, 1]})
    model = LogisticRegression().fit(data, y)
    path = tmp_path / "model"
    mlflow.sklearn.save_model(
        model,
        path,
        signature=infer_signature(data, model.predict_proba(data)),
        pip_requirements=["scikit-learn"],  # skips inferring the environment
        pyfunc_predict_fn="predict_proba",
    )
    loaded = load_model(path)
    log = InferenceLog(Lake(tmp_path / "lake"), "flights", tmp_path / "spool")  # logs by default
    app = create_app(lambda ref: loaded, endpoint="flights", inference_log=log)
    with TestClient(app) as client:
        deadline = time.monotonic() + 60
        while client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, client.get("/ready").json()
            time.sleep(0.05)
        rows = {"dataframe_split": {"columns": ["a", "b"], "data": [[0.1, 0.2], [-1.0, 2.0]]}}
        for _ in range(2):
            assert client.post("/invocations", json=rows).status_code == 200
        assert client.post("/invocations", content=b"{not json").status_code == 400
        response = client.get("/metrics")
    assert response.status_code == 200
    return response.text


def _monitor_exposition(tmp_path: Path) -> str:
    """`prometheus_metrics` after a real monitor pass over two hours of inference rows."""
    root = tmp_path / "proj"
    root.mkdir()
    rng = np.random.default_rng(1)
    infer_schema(
        pl.DataFrame({"x": rng.normal(0, 1, 1000), "c": rng.choice(["a", "b"], 1000)})
    ).save(root / "baseline.json")
    monitor = {
        "table": "inference.flights",
        "model": "flights",
        "window": "1h",
        "baseline": {"schema_file": "baseline.json"},
        "labels": {"table": "labels.flights", "keys": ["request_id", "row"], "column": "label"},
    }
    (root / "lakestack.yaml").write_text(
        yaml.safe_dump({"project": {"name": "dash"}, "monitors": {"flights": monitor}})
    )
    project = load_project(root)
    lake = Lake.for_environment(project, "dev")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    n = 600
    x = rng.normal(0.5, 1.0, n)
    prediction = 1 / (1 + np.exp(-x))
    rows = pl.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "row": np.zeros(n, dtype=np.int64),
            "ts": [t0 + timedelta(seconds=7199 * i / n) for i in range(n)],
            "prediction": prediction,
            "x": x,
            "c": rng.choice(["a", "b"], n, p=[0.8, 0.2]),
        }
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    lake.append("inference.flights", rows)
    label = np.where(rng.random(n) < 0.8, prediction >= 0.5, prediction < 0.5).astype(np.int64)
    lake.append("labels.flights", rows.select("request_id", "row").with_columns(label=label))
    run_monitor(project, "flights", "dev", now=t0 + timedelta(hours=2, minutes=1))
    return prometheus_metrics(lake, ["flights"])


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Series:
    tmp = tmp_path_factory.mktemp("grafana")
    serving = series(_serving_exposition(tmp))
    monitoring = series(_monitor_exposition(tmp))
    assert serving.keys().isdisjoint(monitoring.keys())
    return serving | monitoring


def test_every_metric_and_label_of_the_dashboard_is_exported(
    dashboard: dict[str, Any], exported: Series
) -> None:
    assert problems(dashboard, exported) == []


def test_the_dashboard_covers_every_exported_family(
    dashboard: dict[str, Any], exported: Series
) -> None:
    used = {name for _, expr, _ in queries(dashboard) for name, _ in METRIC.findall(expr)}
    families = {
        re.sub(r"_(total|bucket|count|sum|created)$", "", name)
        for name in exported
        if name.startswith("lakestack_")
    }
    covered = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in used}
    assert families - covered == set()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("lakestack_requests_total", "lakestack_request_total", "is not exported"),
        ("lakestack_monitor_drift_psi{", "lakestack_monitor_drift_pis{", "is not exported"),
        ("sum by (kind)", "sum by (error)", "grouping by 'error'"),
        ('reference="$reference"', 'ref="$reference"', "has no label 'ref'"),
        ("{{status}}", "{{code}}", "legend {{code}}"),
    ],
)
def test_a_wrong_name_in_the_dashboard_is_caught(
    dashboard: dict[str, Any], exported: Series, old: str, new: str, expected: str
) -> None:
    broken = json.loads(json.dumps(dashboard).replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1]))
    assert broken != dashboard, f"{old!r} is not in the dashboard"
    assert any(expected in problem for problem in problems(broken, exported))


def test_the_dashboard_is_importable(dashboard: dict[str, Any]) -> None:
    assert dashboard["schemaVersion"] >= 36 and dashboard["uid"] and dashboard["title"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert {"endpoint", "monitor"} <= variables.keys()
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert {"h", "w", "x", "y"} <= panel["gridPos"].keys()
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}", panel["title"]
    titles = " / ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for topic in ("request rate", "latency", "errors", "prediction distribution", "model version"):
        assert topic in titles
    for topic in ("backlog", "psi", "jensen-shannon", "quality"):
        assert topic in titles


def test_init_copies_the_dashboard(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["init", str(tmp_path / "f"), "--template", "flights"])
    assert info.value.code in (0, None), capsys.readouterr()
    copied = tmp_path / "f" / "grafana" / "lakestack-dashboard.json"
    assert copied.read_bytes() == DASHBOARD.read_bytes()
    with pytest.raises(SystemExit):
        main(["init", str(tmp_path / "d")])
    assert not (tmp_path / "d" / "grafana").exists()  # the default template has no dashboard
