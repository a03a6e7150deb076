"""`log_model`: a version with its signature, example, lineage; refusals that say what is missing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _registry_kit import FEATURES, Kit, make_frame

from lakestack.errors import RegistryError
from lakestack.registry import load_model
from lakestack.validation import Schema, infer_schema

SPEC = {
    "format": 1,
    "lookups": [
        {
            "table": "features.weather",
            "lookup_key": {"origin": "origin"},
            "feature_names": ["temp"],
            "rename": {},
            "timestamp_lookup_key": None,
            "max_age_seconds": None,
        }
    ],
    "table_versions": {"features.weather": 0},
    "columns": [{"name": "temp", "type": "double"}],
}


def test_a_version_carries_its_lineage_and_loads_as_serving_loads_it(kit: Kit) -> None:
    lake = kit.registry.lake
    lake.append("features.weather", {"origin": ["JFK"], "temp": [3.5]})
    train = make_frame(600, 0)
    lake.append("silver.train", train)
    model = kit.train()
    info = kit.log(
        model,
        feature_spec=SPEC,
        data_schema=infer_schema(train.select(FEATURES)),
        training_tables={"silver.train": 0},
        metrics={"roc_auc": 0.9},
        params={"C": 1.0},
        pipeline_run_id="run-42",
    )
    assert info.version == 1
    assert info.training_tables == {"features.weather": 0, "silver.train": 0}
    assert info.tag("pipeline_run_id") == "run-42"
    assert info.tag("code_dirty") in ("true", "false")
    assert info.holdout is not None and info.holdout.table == "gold.holdout"
    assert info.json_tag("metrics") == {"roc_auc": 0.9}

    loaded = load_model(
        f"models:/{kit.model}/1", tracking_uri=kit.registry.environment.tracking_uri
    )
    assert loaded.version == 1
    assert loaded.input_columns == FEATURES
    assert json.loads(loaded.feature_spec_json() or "{}")["table_versions"] == {
        "features.weather": 0
    }
    assert Schema.from_json(loaded.data_schema_json() or "").names == FEATURES
    assert loaded.lineage()["training_tables"] == {"features.weather": 0, "silver.train": 0}
    example = loaded.input_example()
    assert list(example.columns) == FEATURES
    x = make_frame(20, 3).select(FEATURES).to_pandas()
    assert np.allclose(loaded.predict(x), model.predict_proba(x))

    second = kit.log(kit.train(seed=1))
    assert second.version == 2
    assert [v.version for v in kit.registry.versions(kit.model)] == [2, 1]


def test_a_model_without_a_signature_is_refused_with_how_to_add_one(sqlite_kit: Kit) -> None:
    with pytest.raises(RegistryError, match="no signature") as caught:
        sqlite_kit.log(sqlite_kit.train(), signature=None)
    assert "infer_signature" in str(caught.value)
    assert not sqlite_kit.registry.models()


def test_a_feature_spec_naming_a_missing_table_is_refused(sqlite_kit: Kit) -> None:
    with pytest.raises(RegistryError, match=r"names table features\.weather, which does not exist"):
        sqlite_kit.log(sqlite_kit.train(), feature_spec=json.dumps(SPEC))
    missing = {**SPEC, "lookups": [], "table_versions": {"features.absent": 3}}
    sqlite_kit.registry.lake.append("features.weather", {"origin": ["JFK"], "temp": [1.0]})
    with pytest.raises(RegistryError, match=r"features\.absent"):
        sqlite_kit.log(sqlite_kit.train(), feature_spec=missing)
    with pytest.raises(RegistryError, match=r"training tables names table silver\.nope"):
        sqlite_kit.log(sqlite_kit.train(), training_tables={"silver.nope": 0})


def test_lightgbm_models_are_logged_and_scored(sqlite_kit: Kit) -> None:
    import lightgbm as lgb
    from mlflow.models import infer_signature

    frame = make_frame(400, 0)
    x = frame.select(FEATURES).to_pandas()
    params = {"objective": "binary", "verbose": -1, "seed": 0, "deterministic": True}
    booster = lgb.train(params, lgb.Dataset(x, frame["y"].to_numpy()), num_boost_round=10)
    info = sqlite_kit.registry.log_model(
        booster,
        sqlite_kit.model,
        signature=infer_signature(x, booster.predict(x)),
        input_example=x.head(3),
        holdout=sqlite_kit.holdout(),
    )
    assert info.tags["lakestack.environment"] == "dev"
    loaded = sqlite_kit.registry.load_model(sqlite_kit.model, info.version)
    assert np.allclose(loaded.predict(x.head(5)), booster.predict(x.head(5)))
    assert type(loaded.raw).__name__ == "Booster"
