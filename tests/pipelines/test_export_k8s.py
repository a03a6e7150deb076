"""`lakestack export k8s`: an image build file and manifests that the official Kubernetes
client's models accept field for field, with the content the environment needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient
from typer.testing import CliRunner

from _kit import local_environment
from lakestack.cli import app
from lakestack.errors import ConfigError
from lakestack.templates import scaffold

MODELS = {
    ("apps/v1", "Deployment"): "V1Deployment",
    ("v1", "Service"): "V1Service",
    ("v1", "Secret"): "V1Secret",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "V2HorizontalPodAutoscaler",
    ("batch/v1", "CronJob"): "V1CronJob",
}


def as_model(document: dict[str, Any], model: str) -> Any:
    """The document as a client model; it must come back unchanged (no unknown or mistyped
    field is dropped on the way)."""
    client = ApiClient()
    obj = client.deserialize(json.dumps(document), model, "application/json")
    assert client.sanitize_for_serialization(obj) == document
    return obj


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Path, dict[str, list[dict[str, Any]]]]:
    root = tmp_path / "flights"
    scaffold("flights", root, name="flights")
    doc = yaml.safe_load((root / "lakestack.yaml").read_text())
    doc["environments"] = {
        "dev": local_environment("dev"),
        "prod": {
            "lake": "s3://flights-lake/prod",
            "tracking": "http://mlflow.internal:5000",
            "online_store": "redis://redis.internal:6379/0",
            "engine": "ray://ray-head:10001",
            "storage_options": {
                "AWS_ACCESS_KEY_ID": "${S3_KEY}",
                "AWS_SECRET_ACCESS_KEY": "${S3_SECRET}",
            },
        },
    }
    doc["endpoints"]["flights_delay"]["scaling"] = {
        "min_replicas": 2,
        "max_replicas": 6,
        "cpu": "500m",
    }
    doc["jobs"]["retraining"]["triggers"] = [{"on_event": "retrain_flights"}]
    (root / "lakestack.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "k8s"
    env = {"S3_KEY": "key-id", "S3_SECRET": "not-in-any-manifest"}
    result = CliRunner().invoke(
        app,
        [
            "export",
            "k8s",
            "--env",
            "prod",
            "--project",
            str(root),
            "--image",
            "reg/flights:1",
            "--out",
            str(out),
            "--json",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.output)["files"]) == sorted(str(p) for p in out.iterdir())
    documents = {
        p.name: [d for d in yaml.safe_load_all(p.read_text()) if d]
        for p in out.iterdir()
        if p.suffix == ".yaml"
    }
    return out, documents


def test_every_manifest_loads_into_the_kubernetes_client_models(
    exported: tuple[Path, dict[str, list[dict[str, Any]]]],
) -> None:
    out, documents = exported
    kinds = []
    for name, docs in documents.items():
        if name in ("kustomization.yaml",) or name.startswith("kserve-"):
            continue
        for doc in docs:
            as_model(doc, MODELS[(doc["apiVersion"], doc["kind"])])
            kinds.append(doc["kind"])
    assert sorted(set(kinds)) == [
        "CronJob",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Secret",
        "Service",
    ]
    applied = yaml.safe_load((out / "kustomization.yaml").read_text())["resources"]
    assert applied == sorted(
        n
        for n in documents
        if n not in ("kustomization.yaml",) and not n.startswith(("kserve-", "secret."))
    )
    assert "not-in-any-manifest" not in "".join(p.read_text() for p in out.iterdir())


def test_an_endpoint_gets_a_deployment_service_and_autoscaler(
    exported: tuple[Path, dict[str, list[dict[str, Any]]]],
) -> None:
    deployment, service, hpa = exported[1]["endpoint-flights_delay.yaml"]
    pod = as_model(deployment, "V1Deployment").spec.template
    server = pod.spec.containers[0]
    assert server.image == "reg/flights:1"
    assert server.args == [
        "serve",
        "flights_delay",
        "--env",
        "prod",
        "--host",
        "0.0.0.0",
        "--port",
        "8080",
        "--workers",
        "1",
    ]
    assert server.readiness_probe.http_get.path == "/ready"
    assert server.liveness_probe.http_get.path == "/health"
    assert pod.metadata.annotations["prometheus.io/path"] == "/metrics"
    assert server.resources.requests == {"cpu": "500m", "memory": "2Gi"}
    assert {e.name: e.value for e in server.env} == {
        "LAKESTACK_PROJECT": "/app",
        "LAKESTACK_ENV": "prod",
    }
    assert server.env_from[0].secret_ref.name == "flights-prod-env"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    scaler = as_model(hpa, "V2HorizontalPodAutoscaler").spec
    assert (scaler.min_replicas, scaler.max_replicas) == (2, 6)
    assert scaler.scale_target_ref.name == deployment["metadata"]["name"]
    assert scaler.metrics[0].resource.target.average_utilization == 70


def test_scheduled_jobs_scheduler_and_monitor_exporter(
    exported: tuple[Path, dict[str, list[dict[str, Any]]]],
) -> None:
    documents = exported[1]
    crons = [as_model(d, "V1CronJob") for d in documents["jobs.yaml"]]
    assert [
        (c.spec.schedule, c.spec.job_template.spec.template.spec.containers[0].args) for c in crons
    ] == [("30 6 * * *", ["run", "monitoring", "--env", "prod"])]
    assert crons[0].spec.concurrency_policy == "Forbid" and crons[0].spec.time_zone == "Etc/UTC"
    (scheduler,) = documents["scheduler.yaml"]
    assert scheduler["spec"]["replicas"] == 1
    assert scheduler["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "scheduler",
        "--env",
        "prod",
    ]
    exporter, exporter_service = documents["monitor-exporter.yaml"]
    args = exporter["spec"]["template"]["spec"]["containers"][0]["args"]
    assert (
        args[:3] == ["monitor", "metrics", "--env"]
        and exporter_service["spec"]["ports"][0]["port"] == 9108
    )
    (secret,) = documents["secret.example.yaml"]
    assert secret["stringData"] == {"S3_KEY": "", "S3_SECRET": ""}


def test_the_kserve_variant_speaks_the_open_inference_protocol(
    exported: tuple[Path, dict[str, list[dict[str, Any]]]],
) -> None:
    (service,) = exported[1]["kserve-flights_delay.yaml"]
    assert (service["apiVersion"], service["kind"]) == (
        "serving.kserve.io/v1beta1",
        "InferenceService",
    )
    predictor = service["spec"]["predictor"]
    assert predictor["protocolVersion"] == "v2"
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (2, 6)
    (container,) = predictor["containers"]
    model = as_model(container, "V1Container")
    assert (
        model.name == "kserve-container"
        and model.readiness_probe.http_get.path == "/v2/health/ready"
    )
    as_model({"containers": predictor["containers"], "volumes": predictor["volumes"]}, "V1PodSpec")


def test_the_image_installs_what_the_environment_needs(
    exported: tuple[Path, dict[str, list[dict[str, Any]]]],
) -> None:
    out = exported[0]
    dockerfile = (out / "Dockerfile").read_text()
    assert 'pip install --no-cache-dir "lakestack[redis,ray,s3]==' in dockerfile
    assert "ENV LAKESTACK_PROJECT=/app LAKESTACK_ENV=prod" in dockerfile
    assert ".lakestack/" in (out / ".dockerignore").read_text()


def test_an_unknown_environment_is_a_clear_error(tmp_path: Path) -> None:
    scaffold("default", tmp_path / "p", name="p")
    args = ["export", "k8s", "--env", "nope", "--project", str(tmp_path / "p")]
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, ConfigError)
    assert "no environment 'nope'" in str(result.exception)
