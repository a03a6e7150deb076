"""Projects in git repositories for the deploy tests: a task module whose code says its
version, commits, tags and branches."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import yaml

TASKS = '''\
"""Tasks whose output says which code ran them."""

from pathlib import Path

CODE = "{code}"


def mark(ctx):
    """Write this code's mark and the job's word to marks/<env>.txt in the state folder."""
    folder = Path(ctx.project.state_dir, "marks")
    folder.mkdir(parents=True, exist_ok=True)
    Path(folder, ctx.environment + ".txt").write_text(CODE + ":" + ctx.params["word"])
    return CODE
'''


def git(folder: Path, *args: str) -> str:
    """Run git in `folder` (with a fixed identity); its output."""
    done = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def project_config(word: str = "one", **sections: object) -> dict[str, object]:
    """A lakestack.yaml with a scheduled job `hello` of one task, and prod taking `v*` tags."""
    config: dict[str, object] = {
        "project": {"name": "shop"},
        "deploy": {"staging": {"refs": ["main"]}, "prod": {"refs": ["v*", "release"]}},
        "jobs": {
            "hello": {
                "schedule": "0 3 * * *",
                "tasks": [{"name": "mark", "run": "shop_tasks:mark", "params": {"word": word}}],
            }
        },
    }
    config.update(sections)
    return config


def write_code(folder: Path, code: str = "A", **config: object) -> None:
    """Write the project's files: lakestack.yaml, the task module saying `code`, .gitignore."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lakestack.yaml").write_text(yaml.safe_dump(project_config(**config)))  # type: ignore[arg-type]
    (folder / "shop_tasks.py").write_text(textwrap.dedent(TASKS.format(code=code)))
    (folder / ".gitignore").write_text(".lakestack/\n__pycache__/\n")


def commit(folder: Path, message: str) -> str:
    """Commit everything; the new commit."""
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", message)
    return git(folder, "rev-parse", "HEAD")


def new_repo(folder: Path, code: str = "A", **config: object) -> str:
    """A git repository on branch main with the project committed; the commit."""
    folder.mkdir(parents=True)
    git(folder, "init", "-q", "-b", "main")
    write_code(folder, code, **config)
    return commit(folder, f"code {code}")


def mark(folder: Path, env: str) -> str:
    """What the `mark` task wrote in an environment."""
    return (folder / ".lakestack" / "marks" / f"{env}.txt").read_text()
