"""The exception tree of lakestack.

Every error lakestack raises on purpose is a :class:`LakestackError`. Its message names the
object at fault (the file, the key, the table, the environment) and says how to fix it; the CLI
prints it as one paragraph with exit code 1, the HTTP layer turns it into a 4xx status.

::

    LakestackError
    ├── ConfigError                    lakestack.yaml is missing, unreadable or invalid
    ├── AccessError                    a principal or environment may not do this
    │   ├── AccessDeniedError          the principal's role does not allow the action
    │   ├── AuthenticationError        no token, or an unknown, revoked or expired one
    │   └── EnvironmentAccessError     a cross-environment read or write without a grant
    ├── LakeError                      Delta tables
    │   ├── TableNameError             not of the form <schema>.<table>
    │   ├── TableNotFoundError
    │   ├── TableExistsError
    │   ├── SchemaEvolutionError       an incompatible column type change
    │   └── WriteConflictError         a concurrent commit that could not be retried
    ├── DataValidationError            data validation: bad input to a check
    ├── FeatureError                   feature tables, training sets, online stores
    ├── PipelineError                  jobs, tasks, runs, schedules
    ├── RegistryError                  MLflow tracking and registry
    │   └── GateFailedError            a promotion refused by a gate
    ├── ServingError                   endpoints and batch scoring
    ├── MonitoringError                monitors, alert rules and actions
    └── DeployError                    project templates, deployments of code versions
        └── DeployRefusedError         a deploy an environment's rules refuse
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AccessError",
    "AuthenticationError",
    "ConfigError",
    "DataValidationError",
    "DeployError",
    "DeployRefusedError",
    "EnvironmentAccessError",
    "FeatureError",
    "GateFailedError",
    "LakeError",
    "LakestackError",
    "MonitoringError",
    "PipelineError",
    "RegistryError",
    "SchemaEvolutionError",
    "ServingError",
    "TableExistsError",
    "TableNameError",
    "TableNotFoundError",
    "WriteConflictError",
]


class LakestackError(Exception):
    """Base of every error lakestack raises on purpose; its message says what to do."""


class ConfigError(LakestackError):
    """The project file is missing, unreadable or invalid.

    Attributes:
        problems: every problem found, each one line naming the file and the key path.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = problems or []


class AccessError(LakestackError):
    """A principal or an environment is not allowed to do what it asked."""


class AccessDeniedError(AccessError):
    """The principal's role in the environment does not allow the action (HTTP 403)."""


class AuthenticationError(AccessError):
    """No token where one is needed, or an unknown, revoked or expired one (HTTP 401)."""


class EnvironmentAccessError(AccessError):
    """A read or write across environments that `lakestack.yaml` does not grant."""


class LakeError(LakestackError):
    """A Delta table operation failed."""


class TableNameError(LakeError):
    """A table name is not of the form `<schema>.<table>`."""


class TableNotFoundError(LakeError):
    """The table does not exist in the environment's lake."""


class TableExistsError(LakeError):
    """The table already exists and the operation would replace it."""


class SchemaEvolutionError(LakeError):
    """Data whose schema cannot be merged into the table's (an incompatible type change)."""


class WriteConflictError(LakeError):
    """A concurrent writer changed the table and the write could not be retried safely."""


class DataValidationError(LakestackError):
    """Data validation got input it cannot check (empty data, an unknown column, ...)."""


class FeatureError(LakestackError):
    """A feature table, training set or online store operation failed."""


class PipelineError(LakestackError):
    """A job, task, run or schedule problem."""


class RegistryError(LakestackError):
    """An MLflow tracking or registry operation failed."""


class GateFailedError(RegistryError):
    """A model promotion was refused because a gate failed; no alias moved."""


class ServingError(LakestackError):
    """An endpoint or batch scoring problem."""


class MonitoringError(LakestackError):
    """A monitor, alert rule or alert action problem."""


class DeployError(LakestackError):
    """Scaffolding a project, or deploying a code version to an environment, failed."""


class DeployRefusedError(DeployError):
    """A deploy the environment's `deploy` rules refuse (a dirty tree, a commit off its refs)."""
