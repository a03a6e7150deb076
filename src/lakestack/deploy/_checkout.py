"""The deployed code of an environment: a git work tree of the deployed commit.

`lakestack deploy` checks the commit out, detached, under
`.lakestack/deployments/<environment>/<commit>/`, and jobs of the environment run from there,
so the scheduler runs the deployed commit's code and `lakestack.yaml`, whatever the working
folder holds meanwhile.

A commit deployed from another clone (CI deploys, a scheduler host runs) is fetched from the
remotes first. The checkout shares the project's state: `.lakestack/` (lakes, MLflow databases, run logs,
scheduler state) and every other entry of the project folder that git ignores (data files, a
virtual environment) are symbolic links to the project's own, so relative paths in
`lakestack.yaml` name the same places from both folders.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from lakestack.deploy._git import GitRepo
from lakestack.errors import ConfigError, DeployError

if TYPE_CHECKING:
    from lakestack.config import Project

__all__ = ["checkout", "checkout_root", "load_checkout", "prune_checkouts"]

_STATE = ".lakestack"
_COMMIT_CHARS = 16


def checkout_root(project: Project, environment: str) -> Path:
    """The folder holding an environment's checkouts (one per deployed commit)."""
    return project.state_dir / "deployments" / environment


def checkout(project: Project, environment: str, commit: str) -> Path:
    """The project folder inside a work tree of `commit`, made if it is missing.

    Args:
        project: the project (its folder is in the repository).
        environment: the environment deploying.
        commit: the full commit id.

    Returns:
        The project's folder in the checkout (where its `lakestack.yaml` is).
    """
    repo = GitRepo.of(project.root)
    tree = checkout_root(project, environment) / commit[:_COMMIT_CHARS]
    folder = tree / repo.project
    if not (folder / "lakestack.yaml").is_file() or _head(tree) != commit:
        _fetch_if_missing(repo, commit)
        if tree.exists():
            with contextlib.suppress(DeployError):
                repo.remove_worktree(tree)
            shutil.rmtree(tree, ignore_errors=True)
        repo.add_worktree(tree, commit)
    _link_state(project.root, folder, repo)
    return folder


def load_checkout(folder: Path, commit: str) -> Project:
    """The project as committed, loaded from its checkout.

    Raises:
        DeployError: its `lakestack.yaml` is invalid (each problem listed).
    """
    from lakestack.config import load_project

    try:
        return load_project(folder)
    except ConfigError as exc:
        listing = "\n".join(f"  - {p}" for p in exc.problems)
        raise DeployError(
            f"lakestack.yaml of commit {commit[:12]} is not valid, so it cannot be deployed; "
            f"fix it, commit, and deploy again:\n{listing or exc}"
        ) from None


def prune_checkouts(project: Project, environment: str, keep: set[str]) -> list[Path]:
    """Remove the environment's checkouts of commits not in `keep`; returns those removed."""
    root = checkout_root(project, environment)
    if not root.is_dir():
        return []
    kept = {commit[:_COMMIT_CHARS] for commit in keep}
    repo = GitRepo.of(project.root)
    removed = []
    for tree in sorted(root.iterdir()):
        if tree.name in kept or not tree.is_dir():
            continue
        with contextlib.suppress(DeployError):
            repo.remove_worktree(tree)
        shutil.rmtree(tree, ignore_errors=True)
        removed.append(tree)
    return removed


def _fetch_if_missing(repo: GitRepo, commit: str) -> None:
    """Fetch from the remotes when the commit was deployed from another clone.

    Raises:
        DeployError: no remote has it either.
    """
    if repo.has_commit(commit):
        return
    repo.fetch()
    if not repo.has_commit(commit):
        raise DeployError(
            f"the deployed commit {commit[:12]} is not in the repository at {repo.top}, nor on "
            "its remotes: it was deployed from a clone that did not push it; push it, then "
            "`git fetch` here"
        )


def _head(tree: Path) -> str | None:
    if not (tree / ".git").exists():
        return None
    try:
        return GitRepo(tree, Path(".")).git("rev-parse", "HEAD")
    except DeployError:
        return None


def _link_state(project_root: Path, folder: Path, repo: GitRepo) -> None:
    """Link `.lakestack/` and the ignored entries of the project folder into the checkout."""
    names = {_STATE, *repo.ignored_entries()}
    for name in sorted(names):
        source = project_root / name
        link = folder / name
        if not source.exists() or link.is_symlink() or link.exists():
            continue
        os.symlink(source, link, target_is_directory=source.is_dir())
