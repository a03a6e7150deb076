"""A local stand-in for GitHub Actions: the `run:` steps of a workflow's jobs, in order, in the
repository as the event left it, with the environment GitHub gives them.

`uses:` steps are what the stand-in provides itself: `actions/checkout` is the repository at
the event's commit, `actions/setup-python` the fresh virtual environment. Expressions
`${{ secrets.NAME }}` evaluate to the given secrets ("" when not given, as GitHub does) and
`${{ github.NAME }}` to the event's context; any other expression fails the test, so the
stand-in never guesses.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from _venv_kit import FreshVenv

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass(frozen=True)
class Event:
    """A git event: `pull_request` from a branch, or `push` of a branch or tag ref."""

    name: str
    ref: str
    sha: str
    actor: str = "octocat"

    @property
    def ref_name(self) -> str:
        return self.ref.split("/", 2)[-1]

    def context(self) -> dict[str, str]:
        return {
            "event_name": self.name,
            "ref": self.ref,
            "ref_name": self.ref_name,
            "sha": self.sha,
            "actor": self.actor,
        }


@dataclass(frozen=True)
class StepResult:
    name: str
    returncode: int
    stdout: str
    stderr: str


def triggered(workflow: dict[str, Any], event: Event) -> bool:
    """Whether a workflow's `on:` starts it for the event (branch and tag filters)."""
    on = workflow.get("on", workflow.get(True))  # PyYAML reads the key `on` as True
    spec = on.get(event.name) if isinstance(on, dict) else None
    if event.name not in (on if isinstance(on, dict | list) else [on]):
        return False
    if event.name != "push" or not spec:
        return True
    kind = "tags" if event.ref.startswith("refs/tags/") else "branches"
    return any(fnmatch.fnmatchcase(event.ref_name, p) for p in spec.get(kind, []))


def _evaluate(text: str, event: Event, secrets: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        scope, _, name = expression.partition(".")
        if scope == "secrets" and name.isidentifier():
            return secrets.get(name, "")
        if scope == "github" and name in event.context():
            return event.context()[name]
        pytest.fail(f"the stand-in cannot evaluate ${{{{ {expression} }}}}")

    return _EXPRESSION.sub(value, text)


def run_workflow(
    path: Path,
    event: Event,
    *,
    venv: FreshVenv,
    repo: Path,
    summary: Path,
    secrets: dict[str, str] | None = None,
) -> list[StepResult]:
    """Run a workflow's `run:` steps for an event, job by job, stopping at a failed step.

    Returns:
        Each step run, with its exit code and output (the last one failed if one did).
    """
    workflow = yaml.safe_load(path.read_text())
    assert triggered(workflow, event), f"{path.name} does not run on {event}"
    secrets = secrets or {}
    github_env = {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event.name,
        "GITHUB_REF": event.ref,
        "GITHUB_REF_NAME": event.ref_name,
        "GITHUB_SHA": event.sha,
        "GITHUB_ACTOR": event.actor,
        "GITHUB_STEP_SUMMARY": str(summary),
        "PIP_NO_INDEX": "1",  # the venv has the requirements: pip must find them installed
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    results: list[StepResult] = []
    for job in workflow["jobs"].values():
        env = {**workflow.get("env", {}), **job.get("env", {})}
        for step in job["steps"]:
            if "run" not in step:
                assert step["uses"].split("@")[0] in ("actions/checkout", "actions/setup-python")
                continue
            step_env = {
                k: _evaluate(str(v), event, secrets)
                for k, v in {**env, **step.get("env", {})}.items()
            }
            script = _evaluate(step["run"], event, secrets)
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                cwd=repo / step.get("working-directory", "."),
                env=venv.env(**github_env, **step_env),
                capture_output=True,
                text=True,
                timeout=1200,
            )
            results.append(
                StepResult(step.get("name", script), done.returncode, done.stdout, done.stderr)
            )
            if done.returncode != 0:
                return results
    return results
