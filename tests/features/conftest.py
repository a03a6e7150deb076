"""Fixtures of the feature store tests: a store on a temporary project, online store URIs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from lakestack.config import Project
from lakestack.features import FeatureStore


@pytest.fixture
def store(project: Project) -> Iterator[FeatureStore]:
    """The dev feature store of a new project (its online store: the embedded SQLite)."""
    with FeatureStore(project, "dev") as fs:
        yield fs


@pytest.fixture
def redis_uri(redis_server: tuple[str, int]) -> Iterator[str]:
    """A Redis online store URI with a key prefix of its own; its keys are deleted afterwards."""
    import redis

    host, port = redis_server
    prefix = f"lakestack-test:{uuid.uuid4().hex[:12]}:"
    yield f"redis://{host}:{port}/0?prefix={prefix}"
    client = redis.Redis(host=host, port=port, db=0)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["sqlite", "redis"])
def online_uri(request: pytest.FixtureRequest, project: Project) -> str:
    """Each online store in turn: SQLite in the project, then Redis (skipped when down)."""
    if request.param == "sqlite":
        return project.environment("dev").online_store
    uri: str = request.getfixturevalue("redis_uri")
    return uri


@pytest.fixture
def online_store(project: Project, online_uri: str) -> Iterator[FeatureStore]:
    """A dev feature store publishing to each online store in turn."""
    with FeatureStore(project, "dev", online_store=online_uri) as fs:
        yield fs
