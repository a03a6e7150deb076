"""Routes that gather across packages: an environment's overview and a table's lineage graph."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lakestack.control_plane._model_routes import list_endpoints
from lakestack.control_plane._session import Reader, Session

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/envs/{env}")


@router.get("/overview", tags=["overview"], summary="Runs, models, endpoints, alerts, deploys")
def overview(s: Reader) -> dict[str, Any]:
    """What the console's first page shows: the latest runs, who holds `staging` and
    `production`, the endpoints and their health, the alerts firing now, the last deploys."""
    from lakestack.deploy import DeploymentLog
    from lakestack.lake import Lake
    from lakestack.pipelines import Records
    from lakestack.registry import ModelRegistry

    with s.acting():
        lake = Lake.for_environment(s.project, s.env)
        runs = Records.for_environment(s.project, s.env).runs(limit=10)
        models = [m.to_dict() for m in ModelRegistry(s.project, s.env).models()]
        deployments = DeploymentLog(lake).all()[-5:]
        alerts = _firing(lake)
    return {
        "environment": s.env,
        "runs": [run.to_dict() for run in runs],
        "models": models,
        "endpoints": list_endpoints(s),
        "alerts": alerts,
        "deployments": [d.to_dict() for d in reversed(deployments)],
    }


def _firing(lake: Any) -> list[dict[str, Any]]:
    """The alerts firing now, of every monitor, newest first."""
    import polars as pl

    from lakestack.monitoring import read_alerts

    frame = read_alerts(lake)
    if frame is None:
        return []
    firing = frame.filter(pl.col("state") == "firing").sort("fired_at", descending=True)
    return firing.to_dicts()


@router.get(
    "/lineage/graph", tags=["lineage"], summary="Tables, runs and model versions around a table"
)
def lineage_graph(s: Reader, table: str) -> dict[str, Any]:
    """The runs that wrote and read the table, the tables they read and wrote, and the model
    versions trained on it: `{"nodes": [{id, label, kind, state, sub}], "edges": [{source,
    target, kind}]}`."""
    from lakestack.lake import TableName
    from lakestack.pipelines import table_lineage

    name = str(TableName.parse(table))
    with s.acting():
        lineage = table_lineage(s.project, name, env=s.env)
        models = _trained_on(s, name)
    graph = _Graph()
    graph.node(f"table:{name}", name, "table", sub="this table")
    for edge in lineage.writes:
        run = graph.run(edge)
        graph.edge(run, graph.table(edge.table), f"wrote v{edge.version}")
    for edge in lineage.upstream:
        graph.edge(graph.table(edge.table), graph.run(edge), f"read v{edge.version}")
    for edge in lineage.reads:
        graph.edge(graph.table(edge.table), graph.run(edge), f"read v{edge.version}")
    for edge in lineage.downstream:
        graph.edge(graph.run(edge), graph.table(edge.table), f"wrote v{edge.version}")
    for model, version, table_version in models:
        node = graph.node(
            f"model:{model}:{version}",
            f"{model} v{version}",
            "model",
            sub=f"trained on v{table_version}",
        )
        graph.edge(f"table:{name}", node, f"trained v{version}")
    return {"table": name, "nodes": list(graph.nodes.values()), "edges": graph.edges}


def _trained_on(s: Session, table: str) -> list[tuple[str, int, int]]:
    """(model, version, table version) of every version whose training read the table."""
    from lakestack.registry import ModelRegistry

    registry = ModelRegistry(s.project, s.env)
    out = []
    for model in registry.models():
        for version in registry.versions(model.name):
            if table in version.training_tables:
                out.append((model.name, version.version, version.training_tables[table]))
    return out


class _Graph:
    """Nodes by id (each once) and edges (each once)."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: list[dict[str, str]] = []

    def node(self, node_id: str, label: str, kind: str, *, state: str = "", sub: str = "") -> str:
        self.nodes.setdefault(
            node_id, {"id": node_id, "label": label, "kind": kind, "state": state, "sub": sub}
        )
        return node_id

    def table(self, name: str) -> str:
        return self.node(f"table:{name}", name, "table")

    def run(self, edge: Any) -> str:
        return self.node(
            f"run:{edge.run_id}:{edge.task}", f"{edge.job}/{edge.task}", "run", sub=edge.run_id
        )

    def edge(self, source: str, target: str, kind: str) -> None:
        item = {"source": source, "target": target, "kind": kind}
        if item not in self.edges:
            self.edges.append(item)
