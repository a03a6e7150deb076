"""CI/CD workflows as code: GitHub Actions workflows or a `.gitlab-ci.yml` for a project.

- pull request (merge request): lint, unit tests, the integration test in the `test`
  environment, `lakestack validate`, and `lakestack plan` of staging and prod;
- push to `main`: `lakestack deploy --env staging --run ingest --run training`;
- a tag `v*` or the `release` branch: `lakestack deploy --env prod`.

Secrets come from the CI's secret store as environment variables that `lakestack.yaml` reads
as `${VAR}`. What a project has decides the steps: its requirements files, its tests (and
whether any is marked `integration`), its `ingest` and `training` jobs.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from lakestack import __version__
from lakestack.deploy._render import render, write_text
from lakestack.errors import DeployError

__all__ = ["CI_SYSTEMS", "CiSystem", "check_ci", "ci_files", "write_ci"]

CiSystem = Literal["github", "gitlab", "none"]
CI_SYSTEMS: tuple[CiSystem, ...] = ("github", "gitlab", "none")
PYTHON = "3.12"

_GITHUB = {
    ".github/workflows/ci.yml": "pull requests: lint, tests, validate, plan of staging and prod",
    ".github/workflows/cd-staging.yml": "a push to main: deploy to staging and train there",
    ".github/workflows/cd-prod.yml": "a release (tag `v*` or branch `release`): deploy to prod",
}
_GITLAB = {
    ".gitlab-ci.yml": "merge requests: tests and plan; main: deploy to staging and train; "
    "tags `v*` and `release`: deploy to prod",
}
_SECRETS = ("LAKE", "TRACKING", "ONLINE_STORE")


def check_ci(value: str) -> CiSystem:
    """`value` as a CI system.

    Raises:
        DeployError: it is none of `CI_SYSTEMS`.
    """
    for system in CI_SYSTEMS:
        if value == system:
            return system
    raise DeployError(f"--ci {value}: choose one of {', '.join(CI_SYSTEMS)}")


def ci_files(ci: CiSystem) -> dict[str, str]:
    """The files `write_ci` writes for a CI system, each with what it does."""
    return {"github": _GITHUB, "gitlab": _GITLAB, "none": {}}[ci]


def _template(name: str) -> Path:
    return Path(str(resources.files("lakestack.deploy") / "ci" / name))


def _secrets(environments: list[str], indent: int) -> str:
    pad = " " * indent
    names = [f"LAKESTACK_{env}_{what}" for env in environments for what in _SECRETS]
    lines = [f"{pad}{name}: ${{{{ secrets.{name} }}}}" for name in [*names, "LAKESTACK_TOKEN"]]
    return "\n".join(lines)


def _install(folder: Path) -> str:
    files = [f for f in ("requirements.txt", "requirements-dev.txt") if (folder / f).is_file()]
    if "requirements.txt" in files:
        return "python -m pip install " + " ".join(f"-r {f}" for f in files)
    return f'python -m pip install "lakestack=={__version__}" pytest'


def _has(folder: Path, pattern: str, text: str) -> bool:
    return any(text in path.read_text(errors="replace") for path in folder.glob(pattern))


def write_ci(folder: Path, ci: CiSystem, *, jobs: list[str], force: bool = False) -> list[Path]:
    """Write a project's CI/CD workflows.

    Args:
        folder: the project folder (where `lakestack.yaml` is).
        ci: `github`, `gitlab` or `none`.
        jobs: the project's jobs (staging runs `ingest` and `training` when it has them).
        force: overwrite existing workflow files.

    Returns:
        The files written.

    Raises:
        DeployError: an unknown CI system, or a workflow file already there without `force`.
    """
    ci = check_ci(ci)
    tests = (folder / "tests").is_dir()
    context = {
        "python": PYTHON,
        "install": _install(folder),
        "lint": _has(folder, "requirements*.txt", "ruff"),
        "tests": tests,
        "integration": tests and _has(folder / "tests", "**/*.py", "mark.integration"),
        "staging_jobs": [job for job in ("ingest", "training") if job in jobs],
        "secrets": _secrets,
    }
    written = []
    for path in ci_files(ci):
        name = "gitlab-ci.yml" if ci == "gitlab" else f"github/{Path(path).name}"
        text = render(_template(f"{name}.jinja"), context)
        written.append(write_text(folder / path, text, force=force))
    return written
