"""The git facts a deploy needs: the commit, uncommitted changes, the refs that contain a commit,
a file at a commit, and detached work trees (`git worktree`) of a commit.

Plain `git` commands through `subprocess`: no library reads a repository as git itself does
(worktrees, packed refs, partial clones), and git is there wherever the code is.
"""

from __future__ import annotations

import fnmatch
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lakestack.errors import DeployError

__all__ = ["GitRepo"]

_TIMEOUT_S = 120


@dataclass(frozen=True)
class GitRepo:
    """The git repository holding a project folder.

    Attributes:
        top: the repository's top folder (of its work tree).
        project: the project folder, relative to `top` (`.` when they are the same).
    """

    top: Path
    project: Path

    @classmethod
    def of(cls, folder: Path) -> GitRepo:
        """The repository of `folder`.

        Raises:
            DeployError: `folder` is not in a git work tree, or git is not installed.
        """
        try:
            out = _git(folder, "rev-parse", "--show-toplevel")
        except DeployError as exc:
            raise DeployError(
                f"{folder} is not in a git repository: a deploy records a commit, so the project "
                "needs one (git init && git add -A && git commit -m 'first version'). "
                f"git said: {exc}"
            ) from None
        top = Path(out).resolve()
        return cls(top, Path(folder).resolve().relative_to(top))

    def git(self, *args: str) -> str:
        """Run git in the top folder; its output without the final newline.

        Raises:
            DeployError: git failed; the message has its error.
        """
        return _git(self.top, *args)

    def head(self) -> str:
        """The commit checked out (HEAD).

        Raises:
            DeployError: the repository has no commit yet.
        """
        try:
            return self.git("rev-parse", "--verify", "HEAD^{commit}")
        except DeployError:
            raise DeployError(
                f"the repository at {self.top} has no commit yet: commit the project first "
                "(git add -A && git commit -m 'first version')"
            ) from None

    def resolve(self, ref: str) -> str:
        """The commit a ref (a branch, a tag, a commit prefix) names.

        Raises:
            DeployError: no such ref or commit.
        """
        try:
            return self.git("rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}")
        except DeployError:
            raise DeployError(
                f"{ref!r} is not a commit, branch or tag of the repository at {self.top}"
            ) from None

    def has_commit(self, commit: str) -> bool:
        """Whether the repository holds `commit` (a clone may not have another's yet)."""
        try:
            self.git("cat-file", "-e", f"{commit}^{{commit}}")
        except DeployError:
            return False
        return True

    def fetch(self) -> None:
        """Fetch every remote's branches and tags (quietly; no remote is no error)."""
        if self.git("remote"):
            self.git("fetch", "--quiet", "--all", "--tags")

    def changed_files(self) -> list[str]:
        """Tracked files with uncommitted changes (staged or not), relative to `top`."""
        out = self.git("status", "--porcelain", "--untracked-files=no")
        return [line[3:] for line in out.splitlines() if line.strip()]

    def refs_containing(self, commit: str, patterns: list[str]) -> list[str]:
        """The branches (local or remote-tracking) and tags matching `patterns` (globs of
        their short names: `main`, `release`, `v*`) that contain `commit`."""
        out = self.git(
            "for-each-ref",
            "--contains",
            commit,
            "--format=%(refname)",
            "refs/heads",
            "refs/remotes",
            "refs/tags",
        )
        found = []
        for ref in out.splitlines():
            short = _short_name(ref)
            if any(fnmatch.fnmatchcase(short, pattern) for pattern in patterns):
                found.append(ref)
        return found

    def show(self, commit: str, path: Path) -> str:
        """The text of a file (relative to the project folder) at a commit.

        Raises:
            DeployError: the commit has no such file.
        """
        where = (self.project / path).as_posix()
        try:
            return self.git("show", f"{commit}:{where}")
        except DeployError:
            raise DeployError(
                f"commit {commit[:12]} has no {where}: commit the project file first"
            ) from None

    def ignored_entries(self) -> list[str]:
        """The names directly in the project folder that git ignores (state, data, venvs)."""
        out = self.git(
            "ls-files",
            "--others",
            "--ignored",
            "--exclude-standard",
            "--directory",
            "--",
            self.project.as_posix(),
        )
        names = []
        for line in out.splitlines():
            rel = Path(line.rstrip("/")).relative_to(self.project)
            if len(rel.parts) == 1:
                names.append(rel.parts[0])
        return sorted(set(names))

    def add_worktree(self, path: Path, commit: str) -> None:
        """Check `commit` out, detached, in a new work tree at `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.git("worktree", "prune")
        self.git("worktree", "add", "--detach", "--force", str(path), commit)

    def remove_worktree(self, path: Path) -> None:
        """Remove a work tree made by `add_worktree` (its folder and git's record of it)."""
        self.git("worktree", "remove", "--force", str(path))


def _short_name(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref.removeprefix(prefix)
    if ref.startswith("refs/remotes/"):
        return ref.removeprefix("refs/remotes/").partition("/")[2]  # origin/main -> main
    return ref


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise DeployError(
            "git is not installed: install it, a deploy records git commits"
        ) from None
    except subprocess.TimeoutExpired:
        raise DeployError(f"git {' '.join(args)} took more than {_TIMEOUT_S} s in {cwd}") from None
    if done.returncode != 0:
        raise DeployError(done.stderr.strip() or f"git {' '.join(args)} failed in {cwd}")
    return done.stdout.rstrip("\n")
