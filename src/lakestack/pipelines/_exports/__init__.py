"""Exports of a project to other orchestrators: Airflow DAGs and Kubernetes manifests.

They read only the configuration (`lakestack.yaml`) and write text; the commands they contain
are `lakestack` commands, so what runs there records runs and lineage as `lakestack run` does.
"""

from __future__ import annotations

from lakestack.pipelines._exports._airflow import AirflowExport, airflow_dags
from lakestack.pipelines._exports._kubernetes import KubernetesExport, kubernetes_manifests

__all__ = ["AirflowExport", "KubernetesExport", "airflow_dags", "kubernetes_manifests"]
