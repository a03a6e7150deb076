"""The NumPy fast path answers what the pyfunc answers, for LightGBM and scikit-learn."""

from __future__ import annotations

from typing import Any

import numpy as np
from _serving_kit import FEATURES, Served, frame, labels

from lakestack.registry import ModelVersionInfo
from lakestack.serving import ServedModel


def _log_booster(
    served: Served, name: str, *, seed: int, rounds: int
) -> tuple[Any, ModelVersionInfo]:
    """A small LightGBM booster trained on the kit's frame, and its version logged as `name`."""
    import lightgbm as lgb
    from mlflow.models import infer_signature

    x = frame(300, seed=seed)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "seed": 0},
        lgb.Dataset(x, labels(x, 1)),
        num_boost_round=rounds,
    )
    signature = infer_signature(x, booster.predict(x))
    return booster, served.registry.log_model(booster, name, signature=signature)


def test_lightgbm_and_sklearn_fast_paths_match_the_pyfunc(served: Served) -> None:
    _, info = _log_booster(served, "boost", seed=1, rounds=5)
    sklearn_version = served.log_sklearn(promote=None)
    rows = frame(20, seed=2)
    for name, version in (("boost", info.version), ("tiny", sklearn_version)):
        loaded = served.registry.load_model(name, version)
        model = ServedModel.wrap(loaded)
        assert model.fast is not None, name
        fast = model.predict(FEATURES, rows[FEATURES].to_numpy().tolist())
        assert np.allclose(fast, np.asarray(loaded.predict(rows))), name
        slow = ServedModel.wrap(loaded, fast_path=False)
        assert slow.fast is None
        assert np.allclose(slow.predict(FEATURES, rows.to_numpy().tolist()), fast), name


def test_the_single_row_path_gives_the_boosters_own_numbers(served: Served) -> None:
    booster, info = _log_booster(served, "rowwise", seed=3, rounds=8)
    model = ServedModel.wrap(served.registry.load_model("rowwise", info.version))
    assert model.row is not None
    rows = frame(50, seed=4)[FEATURES].to_numpy().copy()
    rows[0, 1] = np.nan  # an allowed missing value
    one_by_one = [model.predict(FEATURES, [row])[0] for row in rows.tolist()]
    assert np.array_equal(np.array(one_by_one), booster.predict(rows))
    assert np.array_equal(model.predict(FEATURES, rows.tolist()), booster.predict(rows))
