"""Lake writes are checked against the writer's role and audited, allowed or denied."""

from __future__ import annotations

import pytest

from lakestack.access import acting_as, read_audit
from lakestack.config import Project
from lakestack.errors import AccessDeniedError
from lakestack.lake import Lake


def test_a_reader_cannot_write_and_the_attempt_is_audited(aproject: Project) -> None:
    with acting_as("mallory"):
        lake = Lake.for_environment(aproject, "dev")
        with pytest.raises(AccessDeniedError) as info:
            lake.append("bronze.events", {"id": [1, 2]})
    message = str(info.value)
    for part in ("mallory", "write tables", "bronze.events", "dev", "reader", "developer"):
        assert part in message
    assert not lake.exists("bronze.events")
    (record,) = read_audit(aproject.environment("dev"), principal="mallory")
    assert (record.action, record.object, record.outcome) == (
        "table.write",
        "bronze.events",
        "denied",
    )
    assert record.role == "reader"


def test_a_developer_writes_dev_but_not_prod(aproject: Project) -> None:
    with acting_as("dev1"):
        dev = Lake.for_environment(aproject, "dev")
        assert dev.append("bronze.events", {"id": [1]}) == 0
        prod = Lake.for_environment(aproject, "prod")
        with pytest.raises(AccessDeniedError, match=r"prod \(protected\).*deployer"):
            prod.append("bronze.events", {"id": [1]})
    assert dev.history("bronze.events")[0].metadata["principal"] == "dev1"
    (allowed,) = read_audit(aproject.environment("dev"), action="table.write")
    assert (allowed.principal, allowed.outcome) == ("dev1", "allowed")
    (denied,) = read_audit(aproject.environment("prod"), action="table.write")
    assert (denied.principal, denied.outcome) == ("dev1", "denied")


def test_a_deployer_writes_prod(aproject: Project) -> None:
    with acting_as("dep1"):
        prod = Lake.for_environment(aproject, "prod")
        prod.append("silver.flights", {"id": [1, 2]})
        prod.merge("silver.flights", {"id": [2, 3]}, keys=["id"])
        prod.delete("silver.flights", "id = 1")
    records = read_audit(aproject.environment("prod"), principal="dep1")
    assert [r.outcome for r in records] == ["allowed"] * 3
    assert prod.read("silver.flights").num_rows == 2


def test_an_undeclared_principal_is_told_how_to_be_declared(aproject: Project) -> None:
    with acting_as("bob"), pytest.raises(AccessDeniedError, match="access.principals.bob"):
        Lake.for_environment(aproject, "dev").append("bronze.x", {"id": [1]})


def test_a_single_user_project_checks_nothing(project: Project) -> None:
    with acting_as("anyone"):
        lake = Lake.for_environment(project, "prod")
        lake.append("bronze.events", {"id": [1]})
    assert not lake.exists("system.audit")
