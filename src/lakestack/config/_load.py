"""Reading `lakestack.yaml`: environment variables, validation with every error at once."""

from __future__ import annotations

import difflib
import os
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from lakestack.config._metric_checks import metric_misfits
from lakestack.config._model import ProjectConfig, dag_problems
from lakestack.config._project import (
    PROJECT_FILE,
    Project,
    default_environments,
    resolve_environment,
)
from lakestack.config._references import reference_problems
from lakestack.errors import ConfigError

__all__ = ["Problem", "find_project_file", "load_project", "validate_project_file"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class Problem:
    """One problem in a project file.

    Attributes:
        file: the project file.
        key: the key path, e.g. `jobs.training.tasks[2].run`.
        message: what is wrong and what to write instead.
    """

    file: Path
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else str(self.file)
        return f"{where}: {self.message}"


def find_project_file(start: str | Path | None = None) -> Path:
    """Find `lakestack.yaml` in `start` (or `LAKESTACK_PROJECT`, or the cwd) and its parents.

    Raises:
        ConfigError: no project file was found.
    """
    origin = Path(start or os.environ.get("LAKESTACK_PROJECT") or Path.cwd()).expanduser()
    if origin.is_file():
        return origin.resolve()
    origin = origin.resolve()
    for folder in (origin, *origin.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no {PROJECT_FILE} in {origin} or its parents. Run `lakestack init` to create one, "
        "or pass --project with the project's folder."
    )


def load_project(start: str | Path | None = None) -> Project:
    """Load and validate a project.

    Args:
        start: the project folder or file; by default `LAKESTACK_PROJECT` or the cwd.

    Returns:
        The project with its environments resolved.

    Raises:
        ConfigError: the file is missing or invalid; `problems` lists every problem.

    Example:
        >>> project = load_project(".")  # doctest: +SKIP
        >>> project.environment("prod").lake_root  # doctest: +SKIP
    """
    file = find_project_file(start)
    config, problems = _parse(file)
    if config is None or problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigError(
            f"{file} has {len(problems)} problem(s); fix them and run `lakestack validate`:\n"
            f"{listing}",
            problems=[str(problem) for problem in problems],
        )
    root = file.parent
    envs = config.environments or default_environments()
    return Project(
        root=root,
        file=file,
        config=config,
        environments={name: resolve_environment(root, name, env) for name, env in envs.items()},
    )


def validate_project_file(start: str | Path | None = None) -> tuple[Path, list[Problem]]:
    """Every problem of a project file, without raising for an invalid one."""
    file = find_project_file(start)
    return file, _parse(file)[1]


def _parse(file: Path) -> tuple[ProjectConfig | None, list[Problem]]:
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        reason = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(file, where, f"not valid YAML ({reason}); fix the syntax there")]
    except OSError as exc:
        return None, [Problem(file, "", f"cannot be read: {exc.strerror}")]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return None, [Problem(file, "", "must be a mapping of sections (project:, jobs:, ...)")]
    problems: list[Problem] = []
    data = _substitute(raw, (), file, problems)
    config: ProjectConfig | None = None
    try:
        config = ProjectConfig.model_validate(data)
    except PydanticValidationError as exc:
        problems.extend(_problem(file, error) for error in exc.errors())
    # Checks across sections read the raw data, so they are reported along with field errors.
    problems.extend(_cross_checks(file, data))
    return config, problems


def _substitute(value: Any, loc: tuple[Any, ...], file: Path, problems: list[Problem]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, (*loc, k), file, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*loc, i), file, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name)
        if default is not None and not found:  # as in a shell: unset or empty takes the default
            found = default
        if found is None:
            problems.append(
                Problem(
                    file,
                    _key_path(loc),
                    f"environment variable {name} is not set; export it, "
                    f"or write ${{{name}:-default}} to give a default",
                )
            )
            return ""
        return found

    return _VAR.sub(replace, value)


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _problem(file: Path, error: Any) -> Problem:
    loc = tuple(part for part in error["loc"] if not _is_validator_tag(part))
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _known_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        listing = ", ".join(known) if known else "none"
        message = f"unknown key; {hint}keys allowed here: {listing}"
    elif kind == "missing":
        message = "is required; add it"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        if kind not in ("value_error", "assertion_error"):
            message += f" (got {error.get('input')!r})"
    return Problem(file, _key_path(loc), message)


def _is_validator_tag(part: Any) -> bool:
    # pydantic adds tags such as 'function-after[_dag(), JobConfig]' to a loc; they are not keys.
    return isinstance(part, str) and ("[" in part and "(" in part)


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    model: Any = ProjectConfig
    for part in loc:
        model = _step(model, part)
        if model is None:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _step(annotation: Any, part: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return None if field is None else field.annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (dict, list) and args:
        return args[-1]
    if args:  # X | None
        for arg in args:
            found = _step(arg, part)
            if found is not None:
                return found
    return None


def _cross_checks(file: Path, data: dict[str, Any]) -> list[Problem]:
    raw_envs = data.get("environments")
    envs = set(raw_envs) if isinstance(raw_envs, dict) and raw_envs else set(default_environments())
    listing = ", ".join(sorted(envs))
    problems: list[Problem] = []

    def check_env(key: str, value: Any) -> None:
        if isinstance(value, str) and value not in envs:
            problems.append(
                Problem(file, key, f"{value!r} is not a declared environment; use one of {listing}")
            )

    check_env("default_environment", data.get("default_environment"))
    for name, _ in _items(data.get("deploy")):
        check_env(f"deploy.{name}", name)
    for name, env in _items(raw_envs):
        for kind, others in _items(env.get("grants") if isinstance(env, dict) else None):
            for i, other in enumerate(others if isinstance(others, list) else []):
                check_env(f"environments.{name}.grants.{kind}[{i}]", other)
    raw_access = data.get("access")
    access: dict[str, Any] = raw_access if isinstance(raw_access, dict) else {}
    for principal, spec in _items(access.get("principals")):
        for env_name, _ in _items(spec.get("roles") if isinstance(spec, dict) else None):
            if env_name != "*":
                check_env(f"access.principals.{principal}.roles.{env_name}", env_name)
    if isinstance(access.get("protected"), list):
        for i, env_name in enumerate(access["protected"]):
            check_env(f"access.protected[{i}]", env_name)
    for name, env in _items(raw_envs):
        if isinstance(env, dict) and env.get("control_plane") and not access.get("principals"):
            problems.append(
                Problem(
                    file,
                    f"environments.{name}.control_plane",
                    "a control plane lets in only principals with tokens, and access.principals "
                    "declares none; add them (docs/access.md), or remove control_plane",
                )
            )
    for job_name, job in _items(data.get("jobs")):
        tasks = job.get("tasks") if isinstance(job, dict) else None
        if not isinstance(tasks, list):
            continue
        pairs: list[tuple[str, list[str]]] = []
        for i, task in enumerate(tasks):
            task = task if isinstance(task, dict) else {}
            deps = task.get("depends_on") or []
            pairs.append((str(task.get("name", f"#{i}")), [str(d) for d in deps]))
            for env_name, _ in _items(task.get("params_by_env")):
                check_env(f"jobs.{job_name}.tasks[{i}].params_by_env.{env_name}", env_name)
        for i, message in dag_problems(pairs):
            problems.append(Problem(file, f"jobs.{job_name}.tasks[{i}].depends_on", message))
    problems.extend(
        Problem(file, key, message) for key, message in reference_problems(data, file.parent)
    )
    problems.extend(Problem(file, key, message) for key, message in metric_misfits(data))
    return problems


def _items(value: Any) -> list[tuple[str, Any]]:
    return [(str(k), v) for k, v in value.items()] if isinstance(value, dict) else []
