"""Registry changes (log, promote, rollback, copy) check the principal's role, in Python."""

from __future__ import annotations

import pytest

from _kit.access import log_tiny_model
from lakestack.access import acting_as, authorize, grant_role, read_audit
from lakestack.config import Project
from lakestack.errors import AccessDeniedError
from lakestack.registry import ModelRegistry


def test_a_developer_cannot_promote_to_production_in_prod_and_a_deployer_can(
    mproject: Project,
) -> None:
    with acting_as("dep1"):
        version = log_tiny_model(mproject, "prod", "delay")
    with acting_as("dev1"), pytest.raises(AccessDeniedError) as info:
        ModelRegistry(mproject, "prod").promote("delay", version, to="production")
    for part in ("dev1", "promote models to production", "prod", "reader", "deployer"):
        assert part in str(info.value)
    registry = ModelRegistry(mproject, "prod")
    assert registry.alias_holder("delay", "production") is None
    with acting_as("dep1"):
        promotion = ModelRegistry(mproject, "prod").promote("delay", version, to="production")
    assert promotion.applied
    assert registry.alias_holder("delay", "production").version == version  # type: ignore[union-attr]
    (transition,) = [t for t in registry.history("delay") if t.action == "promote"]
    assert transition.principal == "dep1"
    records = read_audit(mproject.environment("prod"), action="model.promote")
    assert [(r.principal, r.outcome) for r in records] == [("dep1", "allowed"), ("dev1", "denied")]


def test_a_reader_cannot_log_a_model(mproject: Project) -> None:
    with acting_as("mallory"), pytest.raises(AccessDeniedError, match="log model versions"):
        log_tiny_model(mproject, "dev", "delay")
    (record,) = read_audit(mproject.environment("dev"), action="model.log")
    assert (record.principal, record.outcome, record.object) == ("mallory", "denied", "delay")


def test_ci_promotes_in_staging_and_in_prod_only_once_granted(mproject: Project) -> None:
    with acting_as("ci"):
        staged = log_tiny_model(mproject, "staging", "delay")
        ModelRegistry(mproject, "staging").promote("delay", staged, to="production")
        authorize(mproject, "deploy", "staging", obj="main@abc123")
        with pytest.raises(AccessDeniedError, match=r"ci may not copy model versions"):
            ModelRegistry(mproject, "staging").promote(
                "delay", staged, to="production", to_env="prod"
            )
        with pytest.raises(AccessDeniedError, match="deploy code"):
            authorize(mproject, "deploy", "prod", obj="v1.0")
    with acting_as("alice"):
        grant_role(mproject, "ci", "deployer", "prod", reason="release train")
    with acting_as("ci"):
        promotion = ModelRegistry(mproject, "staging").promote(
            "delay", staged, to="production", to_env="prod"
        )
        authorize(mproject, "deploy", "prod", obj="v1.0")
    assert promotion.applied and promotion.environment == "prod"
    prod = [(r.action, r.outcome) for r in read_audit(mproject.environment("prod"))]
    assert ("model.copy", "denied") in prod and ("model.copy", "allowed") in prod
    assert ("deploy", "denied") in prod and ("deploy", "allowed") in prod
    assert ("access.grant", "allowed") in prod
    assert ("model.promote.production", "allowed") in prod


def test_rollback_of_production_needs_a_deployer(mproject: Project) -> None:
    with acting_as("dep1"):
        registry = ModelRegistry(mproject, "staging")
        first = log_tiny_model(mproject, "staging", "delay")
        second = log_tiny_model(mproject, "staging", "delay")
        registry.promote("delay", first, to="production")
        registry.promote("delay", second, to="production")
    with acting_as("dev1"), pytest.raises(AccessDeniedError, match="roll back production"):
        ModelRegistry(mproject, "staging").rollback("delay")
    with acting_as("dep1"):
        assert ModelRegistry(mproject, "staging").rollback("delay").to_version == first
