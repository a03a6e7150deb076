"""What a deployment makes active in an environment, as plain JSON: the snapshot a deployment
records and `lakestack plan` compares.

A snapshot holds, for one environment, the jobs (their tasks with the environment's params),
their schedules and triggers, the models' problem types and gates, the endpoints and the
monitors, each with every default filled in, so that a change of a default shows too. It also
names the environment's storage, with any password in a URI masked: a deployment record never
holds a secret.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakestack.config import Project

__all__ = ["SECTIONS", "Snapshot", "mask_uri", "snapshot", "to_json"]

SECTIONS = ("jobs", "schedules", "models", "gates", "endpoints", "monitors")
"""The kinds of things a plan reports, in the order it reports them."""

_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@]*:)(?P<secret>[^@/]*)@", re.I)

Snapshot = dict[str, dict[str, Any]]
"""`{section: {name: settings}}` for each of `SECTIONS`, plus `environment`."""


def mask_uri(uri: str) -> str:
    """A URI with its password replaced by `***` (`postgresql://ml:***@db/ml`)."""
    return _PASSWORD.sub(lambda m: f"{m['head']}***@", uri)


def snapshot(project: Project, environment: str) -> Snapshot:
    """The snapshot of a project's configuration in one environment.

    Args:
        project: the project (as loaded from the deployed commit, or the working folder).
        environment: the environment's name.
    """
    config = project.config
    env = project.environment(environment)
    jobs: dict[str, Any] = {}
    schedules: dict[str, Any] = {}
    for name, job in config.jobs.items():
        tasks = []
        for task in job.tasks:
            params = {**task.params, **task.params_by_env.get(env.name, {})}
            settings = task.model_dump(mode="json", exclude={"params", "params_by_env"})
            tasks.append({**settings, "params": params})
        jobs[name] = {
            "description": job.description,
            "tasks": tasks,
            "allow_overlap": job.allow_overlap,
        }
        if job.schedule or job.triggers:
            schedules[name] = {
                "schedule": job.schedule,
                "triggers": [t.model_dump(mode="json", exclude_none=True) for t in job.triggers],
                "catchup": job.catchup,
            }
    models = {
        name: model.model_dump(mode="json", exclude={"gates"})
        for name, model in config.models.items()
    }
    gates = {
        name: model.gates.model_dump(mode="json", exclude_none=True)
        for name, model in config.models.items()
    }
    return {
        "jobs": jobs,
        "schedules": schedules,
        "models": models,
        "gates": gates,
        "endpoints": {n: e.model_dump(mode="json") for n, e in config.endpoints.items()},
        "monitors": {n: m.model_dump(mode="json") for n, m in config.monitors.items()},
        "environment": {
            "name": env.name,
            "lake": mask_uri(env.lake_root),
            "tracking": mask_uri(env.tracking_uri),
            "online_store": mask_uri(env.online_store),
            "engine": env.engine,
        },
    }


def to_json(snap: Snapshot) -> str:
    """A snapshot as canonical JSON (sorted keys), so equal snapshots are equal text."""
    return json.dumps(snap, sort_keys=True, default=str)
