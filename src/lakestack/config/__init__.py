"""The project file `lakestack.yaml`: its model, loading, validation and environments.

Example:
    >>> from lakestack.config import load_project
    >>> project = load_project("my-project")  # doctest: +SKIP
    >>> project.environment("dev").tracking_uri  # doctest: +SKIP
"""

from __future__ import annotations

from lakestack.config._deploy import DeployTargetConfig
from lakestack.config._gates import (
    GatesConfig,
    InfrastructureGateConfig,
    MetricThreshold,
    ModelConfig,
    RegressionGateConfig,
    SliceGateConfig,
    ThresholdGatesConfig,
)
from lakestack.config._load import (
    Problem,
    find_project_file,
    load_project,
    validate_project_file,
)
from lakestack.config._metric_checks import metric_misfits
from lakestack.config._model import (
    AccessConfig,
    EndpointConfig,
    EnvironmentConfig,
    Grants,
    JobConfig,
    PrincipalConfig,
    ProjectConfig,
    ProjectInfo,
    Role,
    TaskConfig,
    TriggerConfig,
)
from lakestack.config._monitors import (
    AlertActionConfig,
    AlertRuleConfig,
    MonitorBaselineConfig,
    MonitorConfig,
    MonitorLabelsConfig,
)
from lakestack.config._project import (
    PROJECT_FILE,
    Environment,
    Project,
    default_environments,
)
from lakestack.config._scaling import AutoscalingConfig, ScalingConfig

__all__ = [
    "PROJECT_FILE",
    "AccessConfig",
    "AlertActionConfig",
    "AlertRuleConfig",
    "AutoscalingConfig",
    "DeployTargetConfig",
    "EndpointConfig",
    "Environment",
    "EnvironmentConfig",
    "GatesConfig",
    "Grants",
    "InfrastructureGateConfig",
    "JobConfig",
    "MetricThreshold",
    "ModelConfig",
    "MonitorBaselineConfig",
    "MonitorConfig",
    "MonitorLabelsConfig",
    "PrincipalConfig",
    "Problem",
    "Project",
    "ProjectConfig",
    "ProjectInfo",
    "RegressionGateConfig",
    "Role",
    "ScalingConfig",
    "SliceGateConfig",
    "TaskConfig",
    "ThresholdGatesConfig",
    "TriggerConfig",
    "default_environments",
    "find_project_file",
    "load_project",
    "metric_misfits",
    "validate_project_file",
]
