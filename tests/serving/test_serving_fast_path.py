"""The NumPy fast path answers what the pyfunc answers, for LightGBM and scikit-learn."""

from __future__ import annotations

import numpy as np
from _serving_kit import FEATURES, Served, frame, labels

from lakestack.serving import ServedModel


def test_lightgbm_and_sklearn_fast_paths_match_the_pyfunc(served: Served) -> None:
    import lightgbm as lgb
    from mlflow.models import infer_signature

    x = frame(300, seed=1)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "seed": 0},
        lgb.Dataset(x, labels(x, 1)),
        num_boost_round=5,
    )
    info = served.registry.log_model(
        booster, "boost", signature=infer_signature(x, booster.predict(x))
    )
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
