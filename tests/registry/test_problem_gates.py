"""The problem type is a fact of the version: recorded when logged, and the gates follow it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from _registry_kit import FEATURES, Kit, multiclass_frame, regression_frame

from _kit.models import log_fitted
from lakestack.errors import RegistryError
from lakestack.registry import Holdout, Lineage


def _regressor(kind: str = "good", seed: int = 0) -> Any:
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import LinearRegression

    frame = regression_frame(600, seed)
    x, y = frame.select(FEATURES).to_pandas(), frame["y"].to_numpy()
    return (LinearRegression() if kind == "good" else DummyRegressor()).fit(x, y)


def _log_regressor(kit: Kit, model: Any, **kwargs: Any) -> Any:
    x = regression_frame(50, 7).select(FEATURES).to_pandas()
    holdout = kit.holdout(frame=regression_frame(600, 1))
    return log_fitted(kit.registry, model, kit.model, x, lineage=Lineage(holdout=holdout), **kwargs)


def test_a_regression_model_is_gated_on_regression_metrics_by_default(kit: Kit) -> None:
    """Before, a regression gate without `metric:` compared ROC AUC and passed (0.5 vs 0.5)."""
    reg = kit.configure({"thresholds": ["rmse <= 5"], "regression": {"resamples": 200}})
    good = _log_regressor(kit, _regressor())
    assert good.problem == "regression"  # not declared: the model says it
    reg.promote(kit.model, good.version, to="production")
    worse = _log_regressor(kit, _regressor("dummy"))
    refused = reg.promote(kit.model, worse.version, to="production", raise_on_failure=False)
    assert not refused.applied
    threshold, regression = refused.report.results
    assert threshold.name == "threshold rmse <= 5" and not threshold.passed
    assert regression.name == "regression rmse" and not regression.passed
    assert regression.numbers["metric"] == "rmse"
    assert regression.numbers["candidate"] > regression.numbers["production"] + 10
    assert "rmse" in regression.message and "roc_auc" not in regression.message


def test_a_metric_that_does_not_fit_the_recorded_problem_fails_its_gate(sqlite_kit: Kit) -> None:
    kit = sqlite_kit
    # not caught by validate: the problem type is not declared, the version records it
    reg = kit.configure({"thresholds": ["roc_auc >= 0.7"], "slices": {"columns": ["origin"]}})
    info = _log_regressor(kit, _regressor())
    report = reg.evaluate_gates(kit.model, info.version, stage="production")
    messages = [r.message for r in report.results]
    assert not report.passed
    misfit = "metric 'roc_auc' does not fit a regression model; its metrics: mae, r2, rmse"
    assert misfit in messages[0]
    assert report.results[1].name == "slices rmse by origin"  # the problem's default metric
    assert report.results[1].passed, messages[1]


def test_a_multiclass_model_is_gated_on_its_class_probabilities(kit: Kit) -> None:
    from sklearn.linear_model import LogisticRegression

    reg = kit.configure(
        {
            "thresholds": ["f1_macro >= 0.6", "roc_auc_ovr >= 0.8"],
            "regression": {"resamples": 200},
            "slices": {"columns": ["origin"], "metric": "accuracy", "min_support": 50},
        },
        problem="multiclass",
    )
    holdout = kit.holdout(frame=multiclass_frame(600, 1))

    def log(seed: int, shuffle: bool = False) -> Any:
        frame = multiclass_frame(600, seed)
        x, y = frame.select(FEATURES).to_pandas(), frame["y"].to_numpy()
        if shuffle:
            y = np.random.default_rng(seed).permutation(y)
        model = LogisticRegression(max_iter=500).fit(x, y)
        return log_fitted(
            kit.registry, model, kit.model, x, proba=True, lineage=Lineage(holdout=holdout)
        )

    good = log(0)
    assert good.problem == "multiclass" and good.classes == [0, 1, 2]
    first = reg.promote(kit.model, good.version, to="production")
    assert first.applied, first.report.summary()
    assert [r.name for r in first.report.results][-2:] == [
        "regression log_loss",  # multiclass's default
        "slices accuracy by origin",
    ]
    noise = log(1, shuffle=True)
    refused = reg.promote(kit.model, noise.version, to="production", raise_on_failure=False)
    failed = {r.name for r in refused.report.failures}
    assert failed == {
        "threshold f1_macro >= 0.6",
        "threshold roc_auc_ovr >= 0.8",
        "regression log_loss",
        "slices accuracy by origin",
    }


def test_the_problem_type_is_declared_inferred_or_refused(sqlite_kit: Kit) -> None:
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    kit = sqlite_kit
    frame = multiclass_frame(300, 0)
    x, y = frame.select(FEATURES).to_pandas(), frame["y"].to_numpy()
    model = LogisticRegression(max_iter=500).fit(x, y)
    signature = infer_signature(x, model.predict_proba(x))
    kit.configure(problem="binary")
    with pytest.raises(RegistryError, match=r"declared binary .* but the model is a multiclass"):
        kit.registry.log_model(model, kit.model, signature=signature)
    kit.configure()
    with pytest.raises(RegistryError, match="problem='regression' contradicts|the model is a"):
        kit.registry.log_model(model, kit.model, signature=signature, problem="regression")
    info = kit.registry.log_model(model, kit.model, signature=signature)
    assert (info.problem, info.classes) == ("multiclass", [0, 1, 2])
    assert info.tags["lakestack.problem"] == "multiclass"

    # a model that says nothing: its holdout's labels do, else the caller must
    import mlflow.pyfunc

    class Constant(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return np.full(len(model_input), 100.0)  # no hints: MLflow would parse them

    lake = kit.registry.lake
    lake.append("gold.prices", regression_frame(100, 0))
    prices = Holdout("gold.prices", lake.version("gold.prices"), "y")
    const = infer_signature(x, np.zeros(len(x)))
    info = kit.registry.log_model(
        Constant(), "const_" + kit.model, signature=const, lineage=Lineage(holdout=prices)
    )
    assert info.problem == "regression"
    with pytest.raises(RegistryError, match=r"cannot tell the problem type .* declare models\."):
        kit.registry.log_model(Constant(), "const_" + kit.model, signature=const)
    lake.append("gold.counts", frame.with_columns(y=frame["y"] * 3))
    counts = Holdout("gold.counts", lake.version("gold.counts"), "y")
    with pytest.raises(RegistryError, match="cannot tell the problem type"):  # 0, 3, 6: classes?
        kit.registry.log_model(
            Constant(), "const_" + kit.model, signature=const, lineage=Lineage(holdout=counts)
        )
    declared = kit.registry.log_model(
        Constant(),
        "const_" + kit.model,
        signature=const,
        lineage=Lineage(holdout=counts),
        problem="regression",
    )
    assert declared.problem == "regression"
