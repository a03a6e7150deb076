"""`lakestack monitor metrics --port P --auth token`: a scrape target that needs a token."""

from __future__ import annotations

import httpx

from lakestack.access import TokenGate, acting_as, create_token
from lakestack.config import Project
from lakestack.lake import Lake
from lakestack.monitoring import serve_metrics


def test_the_monitor_target_answers_only_a_reader_of_the_environment(aproject: Project) -> None:
    with acting_as("alice"):
        reader = create_token(aproject, "mallory", ["dev"]).token
        elsewhere = create_token(aproject, "dev1", ["staging"]).token
    gate = TokenGate(aproject, "dev", "table.read")
    with serve_metrics(Lake.for_environment(aproject, "dev"), [], port=0, gate=gate) as server:
        none = httpx.get(server.url)
        wrong_env = httpx.get(server.url, headers={"Authorization": f"Bearer {elsewhere}"})
        ok = httpx.get(server.url, headers={"Authorization": f"Bearer {reader}"})
    assert none.status_code == 401 and none.headers["www-authenticate"] == "Bearer"
    assert wrong_env.status_code == 401 and "not known in environment 'dev'" in wrong_env.text
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain")
