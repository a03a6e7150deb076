"""`engine` and `autoscaling` of an endpoint: the defaults, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

from lakestack.config import PROJECT_FILE, load_project, validate_project_file


def _endpoint(folder: Path, body: str) -> dict[str, str]:
    (folder / PROJECT_FILE).write_text(
        f"project: {{name: p}}\nendpoints:\n  ep:\n    model: m\n{body}"
    )
    _, problems = validate_project_file(folder)
    return {p.key: p.message for p in problems}


def test_an_endpoint_runs_locally_unless_it_says_ray(tmp_path: Path) -> None:
    assert _endpoint(tmp_path, "") == {}
    config = load_project(tmp_path).config.endpoints["ep"]
    assert (config.engine, config.autoscaling) == ("local", None)
    assert _endpoint(tmp_path, "    engine: ray\n") == {}
    replicas = load_project(tmp_path).config.endpoints["ep"].replicas
    assert (replicas.min_replicas, replicas.max_replicas) == (1, 3)
    assert (replicas.target_ongoing_requests, replicas.max_ongoing_requests) == (2.0, 64)


def test_autoscaling_is_read_with_engine_ray(tmp_path: Path) -> None:
    body = (
        "    engine: ray\n"
        "    autoscaling: {min_replicas: 0, max_replicas: 4, target_ongoing_requests: 8,\n"
        "                  downscale_delay_s: 60, replica_cpus: 0.5}\n"
    )
    assert _endpoint(tmp_path, body) == {}
    replicas = load_project(tmp_path).config.endpoints["ep"].replicas
    assert (replicas.min_replicas, replicas.max_replicas) == (0, 4)
    assert (replicas.downscale_delay_s, replicas.replica_cpus) == (60.0, 0.5)


def test_bad_engine_settings_name_the_key_and_the_fix(tmp_path: Path) -> None:
    problems = _endpoint(tmp_path, "    engine: kubernetes\n")
    assert "local" in problems["endpoints.ep.engine"] and "ray" in problems["endpoints.ep.engine"]
    problems = _endpoint(tmp_path, "    autoscaling: {max_replicas: 2}\n")
    assert "set `engine: ray`" in problems["endpoints.ep"]
    problems = _endpoint(tmp_path, "    engine: ray\n    workers: 4\n")
    assert "remove `workers`" in problems["endpoints.ep"]
    problems = _endpoint(
        tmp_path, "    engine: ray\n    autoscaling: {min_replicas: 3, max_replicas: 2}\n"
    )
    assert "below min_replicas" in problems["endpoints.ep.autoscaling"]
    problems = _endpoint(
        tmp_path,
        "    engine: ray\n    autoscaling: {target_ongoing_requests: 8, max_ongoing_requests: 4}\n",
    )
    assert "raise max_ongoing_requests" in problems["endpoints.ep.autoscaling"]
    problems = _endpoint(tmp_path, "    engine: ray\n    autoscaling: {max_replica: 2}\n")
    assert "endpoints.ep.autoscaling.max_replica" in problems
    problems = _endpoint(
        tmp_path, "    engine: ray\n    autoscaling: {target_ongoing_requests: 0}\n"
    )
    assert "greater than 0" in problems["endpoints.ep.autoscaling.target_ongoing_requests"]
