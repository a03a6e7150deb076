"""`lakestack plan --env E`: what a deploy to E would change.

The candidate is the working folder's `lakestack.yaml` (what a merge or release would deploy);
the baseline is the snapshot recorded by E's current deployment. Every job, schedule, model,
gate set, endpoint and monitor is reported as added, changed (with the settings that changed)
or removed. The plan also says whether E's `deploy` rules would refuse the commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from lakestack.deploy._records import Deployment, DeploymentLog
from lakestack.deploy._snapshot import SECTIONS, Snapshot, snapshot

if TYPE_CHECKING:
    from lakestack.config import Project

__all__ = ["Change", "Plan", "diff_snapshots", "plan"]

Action = Literal["added", "changed", "removed"]
_SINGULAR = {
    "jobs": "job",
    "schedules": "schedule",
    "models": "model",
    "gates": "gates",
    "endpoints": "endpoint",
    "monitors": "monitor",
}
_MAX_DETAILS = 20


@dataclass(frozen=True)
class Change:
    """One thing a deploy adds, changes or removes.

    Attributes:
        kind: `job`, `schedule`, `model`, `gates`, `endpoint` or `monitor`.
        name: the job's, model's, endpoint's or monitor's name.
        action: `added`, `changed` or `removed`.
        details: for a change, each setting that changed: `tasks[train].params.rounds: 200 -> 300`.
    """

    kind: str
    name: str
    action: Action
    details: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "details": list(self.details),
        }


@dataclass(frozen=True)
class Plan:
    """What deploying the working folder to an environment would do.

    Attributes:
        environment: the environment.
        current: its current deployment (None before the first).
        commit: the commit a deploy would record (HEAD), None outside git.
        dirty: the work tree has uncommitted changes.
        changes: what would be added, changed or removed.
        refusals: why `lakestack deploy` would refuse it (empty when it would deploy).
    """

    environment: str
    current: Deployment | None
    commit: str | None
    dirty: bool
    changes: list[Change] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    @property
    def code_changes(self) -> bool:
        """Whether the commit differs from the deployed one."""
        return self.current is None or self.current.code_commit != self.commit

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "current": None if self.current is None else self.current.to_dict(),
            "commit": self.commit,
            "dirty": self.dirty,
            "changes": [c.to_dict() for c in self.changes],
            "refusals": self.refusals,
        }

    def to_markdown(self) -> str:
        """The plan as Markdown (a CI job summary or a pull-request comment)."""
        deployed = "nothing yet" if self.current is None else f"`{self.current.short_commit}`"
        commit = "no commit" if self.commit is None else f"`{self.commit[:12]}`"
        lines = [
            f"### lakestack plan: {self.environment}",
            "",
            f"Deployed: {deployed}. This change: {commit}{' (dirty)' if self.dirty else ''}.",
            "",
        ]
        if self.changes:
            lines += ["| kind | name | change | details |", "|---|---|---|---|"]
            for c in self.changes:
                details = "<br>".join(d.replace("|", "\\|") for d in c.details)
                lines.append(f"| {c.kind} | {c.name} | {c.action} | {details} |")
        else:
            lines.append("No job, schedule, model, gate, endpoint or monitor changes.")
        if self.refusals:
            lines += ["", "**A deploy would be refused:**", ""]
            lines += [f"- {reason}" for reason in self.refusals]
        return "\n".join(lines) + "\n"


def plan(project: Project, environment: str | None = None) -> Plan:
    """What `lakestack deploy` of the working folder to an environment would change.

    Args:
        project: the project, as in the working folder.
        environment: the environment (default: the project's default).

    Example:
        >>> for change in plan(load_project("."), "prod").changes:  # doctest: +SKIP
        ...     print(change.kind, change.name, change.action)
    """
    from lakestack.deploy._deploy import refusals, working_commit
    from lakestack.lake import Lake

    env = project.environment(environment).name
    current = DeploymentLog(Lake.for_environment(project, env)).current()
    commit, dirty = working_commit(project)
    baseline = current.resolved if current is not None else _empty()
    changes = diff_snapshots(baseline, snapshot(project, env))
    refused = refusals(project, env, commit, dirty) if commit is not None else []
    if commit is None:
        refused = [f"{project.root} is not a git work tree with a commit: a deploy records one"]
    return Plan(env, current, commit, dirty, changes, refused)


def _empty() -> Snapshot:
    return {section: {} for section in SECTIONS}


def diff_snapshots(old: Snapshot, new: Snapshot) -> list[Change]:
    """The changes from one snapshot to another, section by section, names sorted."""
    changes: list[Change] = []
    for section in SECTIONS:
        before, after = old.get(section, {}), new.get(section, {})
        kind = _SINGULAR[section]
        for name in sorted(set(before) | set(after)):
            if name not in before:
                changes.append(Change(kind, name, "added"))
            elif name not in after:
                changes.append(Change(kind, name, "removed"))
            elif before[name] != after[name]:
                details = _leaf_changes(before[name], after[name], "")
                if len(details) > _MAX_DETAILS:
                    more = len(details) - _MAX_DETAILS
                    details = [*details[:_MAX_DETAILS], f"... and {more} more"]
                changes.append(Change(kind, name, "changed", tuple(details)))
    return changes


def _leaf_changes(old: Any, new: Any, path: str) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}{key}" if str(key).startswith("[") else f"{path}.{key}".lstrip(".")
            out += _leaf_changes(old.get(key, _MISSING), new.get(key, _MISSING), sub)
        return out
    if _named_list(old) and _named_list(new):  # tasks: matched by name, not position
        return _leaf_changes(_by_name(old), _by_name(new), path)
    if old == new:
        return []
    return [f"{path}: {_show(old)} -> {_show(new)}"]


class _Missing:
    def __repr__(self) -> str:
        return "(none)"


_MISSING = _Missing()


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value)


def _by_name(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {f"[{item['name']}]": item for item in items}


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, _Missing) else "(none)"
    return text if len(text) <= 80 else text[:77] + "..."
