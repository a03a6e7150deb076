"""Batch scoring through a compiled LightGBM model (lleaves): the booster's own numbers, the
library compiled once per model version and machine, and a clear refusal where it cannot."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from _serving_kit import FEATURES, Served, frame, labels

from _kit.cli import run_cli
from lakestack.errors import ServingError
from lakestack.lake import Lake
from lakestack.serving import score_table


def _log_booster(served: Served, objective: str, name: str) -> Any:
    """A LightGBM booster (`objective`) logged as `name`@production; the booster."""
    import lightgbm as lgb
    from mlflow.models import infer_signature

    x = frame(400, seed=7)
    y = labels(x, 2) if objective == "binary" else 2 * x["x1"].to_numpy() - x["x3"].to_numpy()
    params = {"objective": objective, "num_leaves": 15, "verbose": -1, "seed": 0}
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=25)
    info = served.registry.log_model(booster, name, signature=infer_signature(x, y))
    served.registry.promote(name, info.version, to="production", force=True, reason="test")
    return booster


def _rows(lake: Lake, n: int) -> np.ndarray:
    """`silver.rows`: `n` rows of the features (some missing) and an `id`; the matrix."""
    x = frame(n, seed=8)
    x.iloc[::7, 1] = np.nan  # missing values take the trees' default branches
    lake.append("silver.rows", x.assign(id=np.arange(n)))
    return x[FEATURES].to_numpy()


def _libraries(served: Served) -> list[str]:
    folder = served.root / ".lakestack" / "cache" / "compiled"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("objective", ["binary", "regression"])
def test_compiled_scoring_gives_the_boosters_numbers_and_compiles_once(
    served: Served, objective: str
) -> None:
    booster = _log_booster(served, objective, "boost")
    lake = Lake.for_environment(served.project, "prod")
    matrix = _rows(lake, 3000)

    # a small run with nothing compiled yet: the booster's own predict
    plain = score_table(served.project, "boost@production", "silver.rows", "gold.a", "prod")
    assert not plain.compiled and _libraries(served) == []

    forced = score_table(
        served.project, "boost@production", "silver.rows", "gold.b", "prod", compiled=True
    )
    assert forced.compiled and forced.rows == 3000
    (library,) = _libraries(served)  # one library, no partial files left
    assert library.endswith(".so")
    got = lake.read("gold.b").to_pandas().sort_values("id")["prediction"].to_numpy()
    assert np.allclose(got, booster.predict(matrix), rtol=1e-12, atol=1e-12)

    # compiled now: a small run takes it from the cache; --no-compiled does not
    again = score_table(served.project, "boost@production", "silver.rows", "gold.c", "prod")
    assert again.compiled and _libraries(served) == [library]
    never = score_table(
        served.project, "boost@production", "silver.rows", "gold.d", "prod", compiled=False
    )
    assert not never.compiled
    reread = lake.read("gold.c").to_pandas().sort_values("id")["prediction"].to_numpy()
    assert np.allclose(reread, got, rtol=1e-12, atol=1e-12)


def test_the_cli_says_compiled_and_refuses_a_model_that_cannot_be(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    _log_booster(served, "binary", "boost")
    served.log_sklearn()
    lake = Lake.for_environment(served.project, "prod")
    _rows(lake, 500)
    common = ["-t", "silver.rows", "--env", "prod", "--project", str(served.root)]

    code, out, err = run_cli(
        capsys, "score", "-m", "boost@production", "-o", "gold.s", *common, "--compiled"
    )
    assert code == 0, err
    assert "engine local, compiled)" in out
    code, out, _ = run_cli(
        capsys, "score", "-m", "boost@production", "-o", "gold.t", *common, "--json"
    )
    assert json.loads(out)["compiled"] is True  # cached by the run before

    code, out, err = run_cli(
        capsys, "score", "-m", "tiny@production", "-o", "gold.u", *common, "--compiled"
    )
    assert code == 1
    assert "cannot score compiled" in err and "LogisticRegression" in err
    assert not lake.exists("gold.u")  # nothing written
    code, _, err = run_cli(
        capsys, "score", "-m", "boost@production", "-o", "gold.v", *common, "--compiled", "--follow"
    )
    assert code == 2 and "--compiled goes with a batch run" in err
    with pytest.raises(ServingError, match="local engine"):
        score_table(
            served.project,
            "tiny@production",
            "silver.rows",
            "gold.w",
            "prod",
            engine="ray",
            compiled=True,
        )
