"""Training: the clean rows split into train and holdout, the data gate, LightGBM, evaluation,
and a new registered version with its lineage.

The `training` job runs `prepare` -> `validate_data` -> `train` -> `evaluate` -> `register`,
then `validation.validate` gates the version. Data moves between tasks through the Delta table
`settings.TRAINING_TABLE` (its version is passed on, so every task reads what `prepare` wrote),
the model through a file in the run's folder. With `trials: N` (N > 0) `train` first searches
LightGBM's settings with Optuna (`pip install 'lakestack[tuning]'`).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from lakestack.metric_catalog import DEFAULT_METRIC, HIGHER_IS_BETTER, MODEL_METRICS
from lakestack.pipelines import TaskContext
from lakestack.registry import (
    Holdout,
    Lineage,
    ModelRegistry,
    TrainingInputs,
    TrainingPeriod,
    metric,
)
from lakestack.validation import ValidationOptions, infer_schema, validate

from . import features, settings

TRAIN_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "rounds": 1000,
    "early_stopping": 50,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 20,
    "feature_fraction": 1.0,
    "lambda_l2": 0.0,
}
"""LightGBM's settings. `rounds` is the most boosting rounds: with `early_stopping: N` (N > 0)
training stops once N rounds did not improve the loss on a validation slice of the training
rows, and the model is trained again on all of them with the rounds found. A search
(`trials` > 0) or the job's params change the others."""
HOLDOUT_FRACTION = 0.2
"""The share of rows (the latest, with a time column) held out for evaluation and the gates."""
VALIDATION_FRACTION = 0.2
"""The share of the training rows a search scores its trials on (never the holdout)."""


def split(data: pl.DataFrame, fraction: float = HOLDOUT_FRACTION, seed: int = 0) -> pl.DataFrame:
    """Labelled rows with `split` = `train` or `holdout`: the latest `fraction` of the time
    range with a time column, else a seeded random `fraction` of the rows."""
    data = data.filter(pl.col(settings.LABEL).is_not_null())
    if settings.TIME_COLUMN:
        data = data.filter(pl.col(settings.TIME_COLUMN).is_not_null()).sort(settings.TIME_COLUMN)
        cut = data[settings.TIME_COLUMN][int(data.height * (1 - fraction))]
        held = pl.col(settings.TIME_COLUMN) >= cut
    else:
        rng = np.random.default_rng(seed)
        held = pl.Series(rng.random(data.height) < fraction)
    return data.with_columns(split=pl.when(held).then(pl.lit("holdout")).otherwise(pl.lit("train")))


def part(data: pl.DataFrame, name: str) -> pl.DataFrame:
    """The rows of one split."""
    return data.filter(pl.col("split") == name)


def prepare(ctx: TaskContext) -> dict[str, Any]:
    """The clean rows, optionally sampled (`sample`: at most N rows), split, to the training
    table; its version and the rows per split."""
    data = ctx.read_polars(settings.CLEAN_TABLE)
    sample = ctx.params.get("sample")
    if sample and data.height > sample:
        data = data.sample(sample, seed=ctx.params.get("seed", 0))
    data = split(
        data, ctx.params.get("holdout_fraction", HOLDOUT_FRACTION), ctx.params.get("seed", 0)
    )
    counts = dict(data.group_by("split").len().iter_rows())
    if not counts.get("train") or not counts.get("holdout"):
        raise ValueError(f"{settings.CLEAN_TABLE} has too few labelled rows to split: {counts}")
    version = ctx.write_table(settings.TRAINING_TABLE, data)
    ctx.logger.info("training set v%s: %s rows per split", version, counts)
    return {"version": version, "rows": counts}


def _table(ctx: TaskContext) -> pl.DataFrame:
    return ctx.read_polars(settings.TRAINING_TABLE, version=ctx.upstream["prepare"]["version"])


def validate_data(ctx: TaskContext) -> dict[str, Any]:
    """The data gate: the holdout against the schema of the training rows (a FAIL stops the
    job; values outside the training range only warn: that is drift, not broken data)."""
    data = _table(ctx)
    schema = infer_schema(part(data, "train").select(features.FEATURES))
    options = ValidationOptions(out_of_range_fail=1.0)
    report = validate(part(data, "holdout").select(features.FEATURES), schema, options=options)
    for anomaly in report.anomalies:
        ctx.logger.warning("%s: %s", anomaly.severity, anomaly.message)
    report.raise_for_errors()
    return {"schema": schema.to_json(), "warnings": len(report.warnings)}


def _options(params: dict[str, Any]) -> dict[str, Any]:
    """LightGBM's settings from the params (names both its interfaces accept)."""
    p = {**TRAIN_DEFAULTS, **{k: v for k, v in params.items() if k in TRAIN_DEFAULTS}}
    return {
        "n_estimators": p["rounds"],
        "learning_rate": p["learning_rate"],
        "num_leaves": p["num_leaves"],
        "min_child_samples": p["min_child_samples"],
        "colsample_bytree": p["feature_fraction"],
        "reg_lambda": p["lambda_l2"],
        "random_state": p["seed"],
        "deterministic": True,
        "force_row_wise": True,
        "n_jobs": 1,
        "verbose": -1,
    }


def estimator(params: dict[str, Any]) -> Any:
    """The untrained model: the encoder, then a seeded LightGBM for the problem type."""
    import lightgbm as lgb
    from sklearn.pipeline import Pipeline

    model = lgb.LGBMRegressor if settings.PROBLEM == "regression" else lgb.LGBMClassifier
    return Pipeline([("features", features.encoder()), ("model", model(**_options(params)))])


def _labels(data: pl.DataFrame) -> Any:
    return data[settings.LABEL].to_numpy()


def fit(train: pl.DataFrame, params: dict[str, Any]) -> Any:
    """The model trained on rows with `rounds` rounds (the same rows and params give the
    same model)."""
    model = estimator(params)
    model.fit(
        features.model_inputs(train),
        _labels(train),
        model__categorical_feature=features.categorical_indices() or "auto",
    )
    return model


def best_rounds(train: pl.DataFrame, params: dict[str, Any]) -> int:
    """The boosting rounds after which the loss on a validation slice of `train` stopped
    improving for `early_stopping` rounds (at most `rounds`)."""
    import lightgbm as lgb

    p = {**TRAIN_DEFAULTS, **params}
    fit_rows, valid = split_validation(train)
    encoder = features.encoder().fit(features.model_inputs(fit_rows))
    y_fit, y_valid = _labels(fit_rows), _labels(valid)
    objective: dict[str, Any] = {"objective": "regression"}
    if settings.PROBLEM != "regression":  # class indices, as the classifier encodes them
        classes = np.unique(y_fit)
        seen = np.isin(y_valid, classes)
        valid, y_valid = valid.filter(pl.Series(seen)), y_valid[seen]
        y_fit, y_valid = np.searchsorted(classes, y_fit), np.searchsorted(classes, y_valid)
        objective = {"objective": "binary"}
        if settings.PROBLEM == "multiclass":
            objective = {"objective": "multiclass", "num_class": len(classes)}
    options = {**_options(p), **objective}
    rounds = options.pop("n_estimators")
    data = lgb.Dataset(
        encoder.transform(features.model_inputs(fit_rows)),
        y_fit,
        categorical_feature=features.categorical_indices() or "auto",
    )
    checked = data.create_valid(encoder.transform(features.model_inputs(valid)), y_valid)
    booster = lgb.train(
        options,
        data,
        num_boost_round=rounds,
        valid_sets=[checked],
        callbacks=[lgb.early_stopping(p["early_stopping"], verbose=False)],
    )
    return int(booster.best_iteration or rounds)


def train_model(train: pl.DataFrame, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The model and the params it was trained with: LightGBM's settings searched first when
    `trials` > 0, the rounds found by early stopping, then all of `train`."""
    params = {**TRAIN_DEFAULTS, **params}
    if params.get("trials", 0) > 0:
        best, value = search(train, params)
        params = {**params, **best, "trials": 0, "search_score": value}
    if params["early_stopping"] > 0:
        params = {**params, "rounds": best_rounds(train, params), "early_stopping": 0}
    return fit(train, params), params


def scores(model: Any, data: pl.DataFrame) -> Any:
    """What the served model returns for rows: class probabilities (one column per class, in
    the model's class order) for a classifier, the predicted value for a regressor."""
    inputs = features.model_inputs(data)
    if settings.PROBLEM == "regression":
        return model.predict(inputs)
    return model.predict_proba(inputs)


def score(model: Any, data: pl.DataFrame) -> dict[str, float]:
    """Every metric of the problem type (the metric catalog's) on labelled rows."""
    raw = scores(model, data)
    labels = data[settings.LABEL].to_numpy()
    if settings.PROBLEM == "regression":
        y, s = labels.astype(np.float64), raw
    elif settings.PROBLEM == "binary":
        positive = model.classes_[-1]
        y, s = (labels == positive).astype(np.float64), raw[:, -1]
    else:
        index = {c: i for i, c in enumerate(model.classes_.tolist())}
        y, s = np.array([index.get(v, -1) for v in labels.tolist()], dtype=np.float64), raw
    return {name: metric(name, y, s) for name in MODEL_METRICS[settings.PROBLEM]}


def split_validation(train: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The training rows a search fits on, and the later (or random) ones it scores on."""
    marked = split(train.drop("split"), VALIDATION_FRACTION, seed=1)
    return part(marked, "train"), part(marked, "holdout")


def search(train: pl.DataFrame, params: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """A seeded Optuna study of `trials` trials (at most `timeout_s` seconds) of LightGBM's
    settings, scored on a validation slice of `train`: the best settings and their score."""
    try:
        import optuna
    except ImportError as error:
        raise ImportError(
            "the search (`trials` > 0) needs Optuna: pip install 'lakestack[tuning]'"
        ) from error
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    goal = DEFAULT_METRIC[settings.PROBLEM]
    fit_rows, valid = split_validation(train)

    def objective(trial: Any) -> float:
        tried = {
            "num_leaves": trial.suggest_int("num_leaves", 8, 128, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 5, 200, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
        }
        model, _ = train_model(fit_rows, {**params, **tried, "trials": 0})
        return score(model, valid)[goal]

    sampler = optuna.samplers.TPESampler(seed=params.get("seed", 0))
    study = optuna.create_study(
        direction="maximize" if goal in HIGHER_IS_BETTER else "minimize", sampler=sampler
    )
    study.optimize(objective, n_trials=params["trials"], timeout=params.get("timeout_s"))
    return study.best_params, study.best_value


def _model_file(ctx: TaskContext) -> Path:
    return ctx.project.state_dir / ctx.environment / "runs" / ctx.run_id / "model.pkl"


def train(ctx: TaskContext) -> dict[str, Any]:
    """Train on the train split (`train_model`); the model to a file.

    The params returned, with the searched settings and the rounds found, are those `register`
    records, so that `lakestack models reproduce` retrains the same model directly.
    """
    model, params = train_model(part(_table(ctx), "train"), dict(ctx.params))
    if "search_score" in params:
        ctx.log_metric(f"search_{DEFAULT_METRIC[settings.PROBLEM]}", params["search_score"])
    ctx.logger.info("trained with %s", params)
    path = _model_file(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(model))
    return {"model_file": str(path), "params": params}


def _load(ctx: TaskContext) -> Any:
    return pickle.loads(Path(ctx.upstream["train"]["model_file"]).read_bytes())


def evaluate(ctx: TaskContext) -> dict[str, Any]:
    """The problem type's metrics on the holdout."""
    metrics = score(_load(ctx), part(_table(ctx), "holdout"))
    for name, value in metrics.items():
        ctx.log_metric(name, value)
    return {"metrics": metrics}


def training_period(data: pl.DataFrame) -> TrainingPeriod | None:
    """The time range of the train rows, up to the holdout's first time (None without a time
    column): the regression gate keeps later candidates' holdouts out of it."""
    if not settings.TIME_COLUMN:
        return None
    start = part(data, "train")[settings.TIME_COLUMN].min()
    end = part(data, "holdout")[settings.TIME_COLUMN].min()
    if start is None or end is None:
        return None
    return TrainingPeriod(settings.TIME_COLUMN, start, end)  # type: ignore[arg-type]


def register(ctx: TaskContext) -> dict[str, Any]:
    """Log the model with its lineage and register a new version."""
    from mlflow.models import infer_signature

    prep, trained = ctx.upstream["prepare"], ctx.upstream["train"]
    model = _load(ctx)
    example = part(_table(ctx), "holdout").head(500)
    inputs = features.model_inputs(example)
    options: dict[str, Any] = {"serialization_format": "cloudpickle"}
    if settings.PROBLEM != "regression":
        options["pyfunc_predict_fn"] = "predict_proba"  # gates and monitors need probabilities
    table = _table(ctx)
    info = ModelRegistry(ctx.project, ctx.environment, lake=ctx.lake).log_model(
        model,
        settings.MODEL,
        signature=infer_signature(inputs, scores(model, example)),
        input_example=inputs.head(5),
        flavor_options=options,
        lineage=Lineage(
            training_tables={settings.TRAINING_TABLE: prep["version"]},
            holdout=Holdout(
                settings.TRAINING_TABLE,
                prep["version"],
                settings.LABEL,
                filters=[["split", "=", "holdout"]],
            ),
            training_period=training_period(table),
            data_schema=ctx.upstream["validate_data"]["schema"],
            metrics=ctx.upstream["evaluate"]["metrics"],
            params=trained["params"],
            entry_point=f"{__package__}.training:reproduce",
        ),
    )
    ctx.record_mlflow_run(str(info.run_id))
    return {"version": info.version}


def reproduce(inputs: TrainingInputs) -> dict[str, float]:
    """Retrain from the recorded training table version; the holdout metrics
    (`lakestack models reproduce`)."""
    data = inputs.read_polars(settings.TRAINING_TABLE)
    return score(fit(part(data, "train"), dict(inputs.params)), part(data, "holdout"))
