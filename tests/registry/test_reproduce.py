"""`reproduce`: the recorded commit and table versions retrain a model with equal metrics."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from _registry_kit import Kit, log_tinyml, make_frame

from lakestack.errors import RegistryError
from lakestack.lake import CodeVersion, code_version

TRAIN_PY = '''
"""A tiny, seeded training function (the fixture project's ML code)."""

from __future__ import annotations

FEATURES = ["x1", "x2"]


def fit(frame, C):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score

    train, test = frame.head(400), frame.tail(frame.height - 400)
    model = LogisticRegression(C=C).fit(train.select(FEATURES).to_numpy(), train["y"].to_numpy())
    scores = model.predict_proba(test.select(FEATURES).to_numpy())[:, 1]
    y = test["y"].to_numpy()
    return model, {"roc_auc": roc_auc_score(y, scores), "log_loss": log_loss(y, scores)}


def reproduce(inputs):
    return fit(inputs.read_polars("silver.points"), **inputs.params)[1]
'''


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def tinyml_repo(tmp_path: Path, tracking: str, mlflow_db: Path) -> Kit:
    """A project in a sub-folder of a git repository, with a tiny training package committed;
    its dev registry on `tracking` (`sqlite`, or a tracking URI)."""
    repo = tmp_path / "repo"
    kit = Kit(repo / "proj", tracking, mlflow_db)
    package = kit.root / "tinyml"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "train.py").write_text(TRAIN_PY)
    (kit.root / ".gitignore").write_text(".lakestack/\n__pycache__/\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "tiny training")
    code_version.cache_clear()
    return kit


@pytest.fixture
def repo_kit(tmp_path: Path, backend: str, mlflow_db: Path) -> Kit:
    """The tiny repository, its dev registry on SQLite or PostgreSQL."""
    return tinyml_repo(tmp_path, backend, mlflow_db)


def test_reproduce_retrains_from_the_recorded_commit_and_table_versions(repo_kit: Kit) -> None:
    kit = repo_kit
    lake = kit.registry.lake
    lake.append("silver.points", make_frame(600, 0))
    lake.append("silver.points", make_frame(300, 9))  # version 1: training read version 0
    info, metrics = log_tinyml(kit)
    assert info.tag("code_path") == "proj" and info.tag("code_dirty") == "false"

    # Later code changes are committed; reproduction still runs the recorded commit.
    (kit.root / "tinyml" / "train.py").write_text(TRAIN_PY.replace("C=C", "C=C * 10"))
    _git(kit.root.parent, "commit", "-q", "-am", "change training")

    result = kit.registry.reproduce(kit.model, info.version)
    assert result.matches, result.to_dict()
    assert result.reproduced == pytest.approx(metrics, abs=0)
    assert result.tables == {"silver.points": 0}
    assert result.commit == info.tag("code_commit")


def test_reproduce_refuses_versions_trained_from_a_dirty_tree_or_outside_git(
    repo_kit: Kit,
) -> None:
    kit = repo_kit
    (kit.root / "tinyml" / "train.py").write_text(TRAIN_PY + "\n# uncommitted\n")
    code_version.cache_clear()
    dirty = kit.log(kit.train(), entry_point="tinyml.train:reproduce")
    assert dirty.tag("code_dirty") == "true"
    with pytest.raises(RegistryError, match="uncommitted changes"):
        kit.registry.reproduce(kit.model, dirty.version)
    outside = kit.log(kit.train(), code=CodeVersion(None, False))
    with pytest.raises(RegistryError, match="trained outside git"):
        kit.registry.reproduce(kit.model, outside.version)
