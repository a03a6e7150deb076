"""A loaded project: the validated config, its folder, and resolved environments."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lakestack.config._model import EnvironmentConfig, Grants, ProjectConfig
from lakestack.errors import ConfigError

__all__ = ["PROJECT_FILE", "Environment", "Project", "default_environments"]

PROJECT_FILE = "lakestack.yaml"
STATE_DIR = ".lakestack"


@dataclass(frozen=True)
class Environment:
    """One environment with every path resolved against the project folder.

    Attributes:
        name: the environment's name (`dev`, `staging`, `prod`, ...).
        lake_root: the lake root, an absolute folder or an object-store URI.
        tracking_uri: the MLflow tracking URI.
        online_store: the online store URI.
        engine: `local`, `ray` or `ray://host:port`.
        grants: who else may read or write this environment's tables.
        storage_options: object-store options passed to deltalake.
        control_plane: the URL of the server that alone writes this environment, if any.
    """

    name: str
    lake_root: str
    tracking_uri: str
    online_store: str
    engine: str = "local"
    grants: Grants = field(default_factory=Grants)
    storage_options: dict[str, str] = field(default_factory=dict)
    control_plane: str | None = None


@dataclass(frozen=True)
class Project:
    """A project folder and its validated `lakestack.yaml`.

    Example:
        >>> project = load_project("path/to/project")  # doctest: +SKIP
        >>> project.environment("dev").lake_root  # doctest: +SKIP
    """

    root: Path
    file: Path
    config: ProjectConfig
    environments: dict[str, Environment]

    @property
    def name(self) -> str:
        return self.config.project.name

    @property
    def state_dir(self) -> Path:
        """The folder for local state (`.lakestack/`)."""
        return self.root / STATE_DIR

    def environment(self, name: str | None = None) -> Environment:
        """The named environment, or the default one (`LAKESTACK_ENV`, then the file's).

        Raises:
            ConfigError: no environment of that name is declared.
        """
        name = name or os.environ.get("LAKESTACK_ENV") or self.config.default_environment
        if name is None:
            name = "dev" if "dev" in self.environments else next(iter(self.environments))
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(self.environments)
            raise ConfigError(
                f"{self.file}: no environment {name!r}; declared environments: {known}. "
                f"Use one of them, or add `environments.{name}` to {PROJECT_FILE}."
            ) from None


def default_environments() -> dict[str, EnvironmentConfig]:
    """The embedded dev, staging and prod: all local files under `.lakestack/`."""
    reads = {"dev": [], "staging": ["dev"], "prod": ["dev", "staging"]}
    return {
        name: EnvironmentConfig(
            lake=f"{STATE_DIR}/{name}/lake",
            tracking=f"sqlite:///{STATE_DIR}/{name}/mlflow.db",
            online_store=f"sqlite:///{STATE_DIR}/{name}/online.db",
            engine="local",
            grants=Grants(read=readers),
        )
        for name, readers in reads.items()
    }


def resolve_environment(root: Path, name: str, env: EnvironmentConfig) -> Environment:
    """Resolve an environment's relative paths against the project folder."""
    return Environment(
        name=name,
        lake_root=_resolve_location(root, env.lake),
        tracking_uri=_resolve_sqlite(root, env.tracking),
        online_store=_resolve_sqlite(root, env.online_store),
        engine=env.engine,
        grants=env.grants,
        storage_options=dict(env.storage_options),
        control_plane=env.control_plane,
    )


def _resolve_location(root: Path, location: str) -> str:
    if "://" in location:
        if location.startswith("file://"):
            return str(Path(location.removeprefix("file://")).resolve())
        return location.rstrip("/")
    path = Path(location).expanduser()
    return str(path if path.is_absolute() else (root / path).resolve())


def _resolve_sqlite(root: Path, uri: str) -> str:
    # sqlite:///relative.db is relative to the current directory in SQLAlchemy; in a project
    # file it means relative to the project, so it works from any directory.
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        rest = uri.removeprefix(prefix)
        if rest and rest != ":memory:":
            return prefix + str((root / rest).resolve())
    return uri
