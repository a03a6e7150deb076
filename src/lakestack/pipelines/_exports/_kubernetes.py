"""Kubernetes manifests and an image build file from `lakestack.yaml`, for one environment.

What is written (file name -> text):

- `Dockerfile` and `.dockerignore`: an image of the project folder with lakestack and the
  extras the environment needs (redis, postgres, ray, s3); `LAKESTACK_PROJECT` and
  `LAKESTACK_ENV` are set, so every command in it runs the environment.
- `endpoint-<name>.yaml` per endpoint: a Deployment running `lakestack serve` (readiness on
  `/ready`, liveness on `/health`, Prometheus scraping `/metrics`), a Service and a
  HorizontalPodAutoscaler on CPU, from `endpoints.<name>.scaling`.
- `kserve-<name>.yaml` per endpoint: the same server as a KServe `InferenceService` custom
  predictor speaking the Open Inference Protocol v2 (`/v2/health/ready`,
  `/v2/models/<name>/infer`); an alternative to the Deployment, not applied with it.
- `jobs.yaml`: a CronJob per job with a `schedule` (UTC) running `lakestack run JOB`.
- `scheduler.yaml`, when a job has triggers: `lakestack scheduler` in a Deployment of one.
- `monitor-exporter.yaml`, when monitors are declared: `lakestack monitor metrics` and its
  Service, scraped by Prometheus.
- `secret.example.yaml`: the variables `lakestack.yaml` reads with `${VAR}` (credentials),
  to fill in and apply as the Secret every container reads.
- `kustomization.yaml`: the manifests to apply (`kubectl apply -k`), without the KServe variant
  and the example Secret.

Only the configuration is read: nothing here knows what a model is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from lakestack import __version__
from lakestack.config import EndpointConfig, Environment, Project

__all__ = ["KubernetesExport", "kubernetes_manifests"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")
_DNS = re.compile(r"[^a-z0-9-]+")
_STATE = "/app/.lakestack"
_EXPORTER_PORT = 9108


@dataclass(frozen=True)
class KubernetesExport:
    """How the manifests run the project.

    Attributes:
        environment: the lakestack environment the cluster runs.
        image: the image built from the written Dockerfile.
        namespace: the namespace of every object (None: the one `kubectl` uses).
        lakestack_requirement: what the Dockerfile installs (default: this version with the
            environment's extras).
    """

    environment: str
    image: str
    namespace: str | None = None
    lakestack_requirement: str | None = None


def _dns(*parts: str) -> str:
    """A DNS-1123 name (lower case, digits and '-', at most 63 characters)."""
    name = _DNS.sub("-", "-".join(parts).lower()).strip("-")
    return name[:63].rstrip("-")


def _extras(env: Environment) -> list[str]:
    extras = []
    if env.online_store.startswith(("redis://", "rediss://")):
        extras.append("redis")
    if env.tracking_uri.startswith("postgresql"):
        extras.append("postgres")
    if env.engine.startswith("ray"):
        extras.append("ray")
    if env.lake_root.startswith(("s3://", "s3a://")):
        extras.append("s3")
    return extras


def secret_variables(project: Project) -> list[str]:
    """The `${VAR}` names `lakestack.yaml` reads, sorted."""
    return sorted(set(_VAR.findall(project.file.read_text(encoding="utf-8"))))


class _Writer:
    """Builds the objects of one export."""

    def __init__(self, project: Project, export: KubernetesExport) -> None:
        self.project = project
        self.export = export
        self.env = project.environment(export.environment)
        self.secret = _dns(project.name, self.env.name, "env")
        self.variables = secret_variables(project)

    def meta(self, name: str, component: str, **extra: Any) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name, "labels": self.labels(component), **extra}
        if self.export.namespace:
            meta["namespace"] = self.export.namespace
        return meta

    def labels(self, component: str) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": _dns(self.project.name),
            "app.kubernetes.io/component": _dns(component),
            "app.kubernetes.io/part-of": "lakestack",
            "lakestack.dev/environment": _dns(self.env.name),
        }

    def container(self, name: str, args: list[str], **extra: Any) -> dict[str, Any]:
        container: dict[str, Any] = {
            "name": name,
            "image": self.export.image,
            "args": args,
            "env": [
                {"name": "LAKESTACK_PROJECT", "value": "/app"},
                {"name": "LAKESTACK_ENV", "value": self.env.name},
            ],
            "volumeMounts": [{"name": "state", "mountPath": _STATE}],
            **extra,
        }
        if self.variables:
            container["envFrom"] = [{"secretRef": {"name": self.secret}}]
        return container

    def pod(self, containers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        # Local state (the inference log's spool, run logs) on a volume that outlives a
        # container restart; everything durable is in the lake and the registry.
        return {"containers": containers, "volumes": [{"name": "state", "emptyDir": {}}], **extra}

    # -- endpoints -----------------------------------------------------------------------

    def endpoint(self, name: str, config: EndpointConfig) -> list[dict[str, Any]]:
        app = _dns(self.project.name, name)
        selector = {"app.kubernetes.io/instance": app}
        labels = {**self.labels("endpoint"), **selector}
        scaling = config.scaling
        port = config.port
        args = [
            "serve", name, "--env", self.env.name, "--host", "0.0.0.0",
            "--port", str(port), "--workers", str(config.workers),
        ]  # fmt: skip
        resources = {
            "requests": {"cpu": scaling.cpu, "memory": scaling.memory},
            "limits": {"memory": scaling.memory},
        }
        probe = {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5}
        server = self.container(
            "server",
            args,
            ports=[{"name": "http", "containerPort": port}],
            readinessProbe={**probe, "initialDelaySeconds": 5, "failureThreshold": 3},
            livenessProbe={
                "httpGet": {"path": "/health", "port": "http"},
                "initialDelaySeconds": 30,
                "periodSeconds": 10,
            },
            resources=resources,
        )
        scrape = {
            "prometheus.io/scrape": "true",
            "prometheus.io/path": "/metrics",
            "prometheus.io/port": str(port),
        }
        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {**self.meta(app, "endpoint"), "labels": labels},
            "spec": {
                "replicas": scaling.min_replicas,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": labels, "annotations": scrape},
                    "spec": self.pod([server], terminationGracePeriodSeconds=60),
                },
            },
        }
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {**self.meta(app, "endpoint"), "labels": labels},
            "spec": {
                "selector": selector,
                "ports": [{"name": "http", "port": port, "targetPort": "http"}],
            },
        }
        hpa = {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {**self.meta(app, "endpoint"), "labels": labels},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                "minReplicas": scaling.min_replicas,
                "maxReplicas": scaling.max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {
                                "type": "Utilization",
                                "averageUtilization": scaling.target_cpu_percent,
                            },
                        },
                    }
                ],
            },
        }
        return [deployment, service, hpa]

    def inference_service(self, name: str, config: EndpointConfig) -> dict[str, Any]:
        """The endpoint as a KServe custom predictor on the Open Inference Protocol v2."""
        scaling = config.scaling
        server = self.container(
            "kserve-container",
            ["serve", name, "--env", self.env.name, "--host", "0.0.0.0", "--port", "8080"],
            ports=[{"containerPort": 8080, "protocol": "TCP"}],
            readinessProbe={"httpGet": {"path": "/v2/health/ready", "port": 8080}},
            resources={
                "requests": {"cpu": scaling.cpu, "memory": scaling.memory},
                "limits": {"memory": scaling.memory},
            },
        )
        return {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": self.meta(_dns(self.project.name, name), "endpoint"),
            "spec": {
                "predictor": {
                    "protocolVersion": "v2",
                    "minReplicas": scaling.min_replicas,
                    "maxReplicas": scaling.max_replicas,
                    "scaleMetric": "cpu",
                    "scaleTarget": scaling.target_cpu_percent,
                    **self.pod([server]),
                }
            },
        }

    # -- jobs, scheduler, monitor exporter --------------------------------------------------

    def cron_jobs(self) -> list[dict[str, Any]]:
        found = []
        for job, config in sorted(self.project.config.jobs.items()):
            if not config.schedule:
                continue
            run = self.container("run", ["run", job, "--env", self.env.name])
            found.append(
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "metadata": self.meta(_dns(self.project.name, "job", job), "job"),
                    "spec": {
                        "schedule": config.schedule,
                        "timeZone": "Etc/UTC",
                        "concurrencyPolicy": "Allow" if config.allow_overlap else "Forbid",
                        "jobTemplate": {
                            "spec": {
                                # lakestack retries tasks itself, per their `retries`.
                                "backoffLimit": 0,
                                "template": {
                                    "metadata": {"labels": self.labels("job")},
                                    "spec": self.pod([run], restartPolicy="Never"),
                                },
                            }
                        },
                    },
                }
            )
        return found

    def single(self, component: str, args: list[str], port: int | None) -> list[dict[str, Any]]:
        """A Deployment of one replica (and its Service when it listens)."""
        name = _dns(self.project.name, component)
        selector = {"app.kubernetes.io/instance": name}
        labels = {**self.labels(component), **selector}
        extra: dict[str, Any] = {}
        annotations: dict[str, str] = {}
        if port is not None:
            extra["ports"] = [{"name": "metrics", "containerPort": port}]
            extra["readinessProbe"] = {"httpGet": {"path": "/metrics", "port": "metrics"}}
            annotations = {"prometheus.io/scrape": "true", "prometheus.io/port": str(port)}
        objects: list[dict[str, Any]] = [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {**self.meta(name, component), "labels": labels},
                "spec": {
                    "replicas": 1,
                    "strategy": {"type": "Recreate"},  # never two at once
                    "selector": {"matchLabels": selector},
                    "template": {
                        "metadata": {"labels": labels, "annotations": annotations},
                        "spec": self.pod([self.container(component, args, **extra)]),
                    },
                },
            }
        ]
        if port is not None:
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {**self.meta(name, component), "labels": labels},
                    "spec": {
                        "selector": selector,
                        "ports": [{"name": "metrics", "port": port, "targetPort": "metrics"}],
                    },
                }
            )
        return objects

    def secret_example(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": self.meta(self.secret, "configuration"),
            "type": "Opaque",
            "stringData": {name: "" for name in self.variables},
        }

    def dockerfile(self) -> str:
        extras = _extras(self.env)
        requirement = self.export.lakestack_requirement or (
            f"lakestack[{','.join(extras)}]=={__version__}"
            if extras
            else f"lakestack=={__version__}"
        )
        return "\n".join(
            [
                f"# The image of the lakestack project {self.project.name!r}, environment "
                f"{self.env.name!r}.",
                "# Build it from the project folder: docker build -f <this file> -t IMAGE .",
                "FROM python:3.11-slim",
                "WORKDIR /app",
                f'RUN pip install --no-cache-dir "{requirement}"',
                "COPY . /app",
                "RUN if [ -f requirements.txt ]; then pip install --no-cache-dir -r requirements.txt; fi",
                f"ENV LAKESTACK_PROJECT=/app LAKESTACK_ENV={self.env.name} PYTHONUNBUFFERED=1",
                "RUN useradd --create-home --uid 1000 lakestack && mkdir -p /app/.lakestack "
                "&& chown -R lakestack /app/.lakestack",
                "USER 1000",
                'ENTRYPOINT ["lakestack"]',
                "",
            ]
        )


def _documents(objects: Iterable[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(list(objects), sort_keys=False, explicit_start=True)


def kubernetes_manifests(project: Project, export: KubernetesExport) -> dict[str, str]:
    """The image build file and the manifests of one environment, by file name.

    Raises:
        ConfigError: the environment is not declared.
    """
    writer = _Writer(project, export)
    files: dict[str, str] = {
        "Dockerfile": writer.dockerfile(),
        ".dockerignore": ".lakestack/\n__pycache__/\n.git/\n*.pyc\n",
    }
    for name, config in sorted(project.config.endpoints.items()):
        files[f"endpoint-{name}.yaml"] = _documents(writer.endpoint(name, config))
        files[f"kserve-{name}.yaml"] = _documents([writer.inference_service(name, config)])
    crons = writer.cron_jobs()
    if crons:
        files["jobs.yaml"] = _documents(crons)
    if any(job.triggers for job in project.config.jobs.values()):
        args = ["scheduler", "--env", writer.env.name]
        files["scheduler.yaml"] = _documents(writer.single("scheduler", args, None))
    if project.config.monitors:
        args = ["monitor", "metrics", "--env", writer.env.name, "--host", "0.0.0.0"]
        args += ["--port", str(_EXPORTER_PORT)]
        files["monitor-exporter.yaml"] = _documents(
            writer.single("monitor-exporter", args, _EXPORTER_PORT)
        )
    if writer.variables:
        files["secret.example.yaml"] = _documents([writer.secret_example()])
    applied = [
        name
        for name in sorted(files)
        if name.endswith(".yaml") and not name.startswith(("kserve-", "secret."))
    ]
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": applied,
    }
    files["kustomization.yaml"] = yaml.safe_dump(kustomization, sort_keys=False)
    return files
