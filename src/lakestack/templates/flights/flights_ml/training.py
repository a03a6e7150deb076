"""Training: a point-in-time training set, the data gate, LightGBM, evaluation, the registry.

The tasks of the `training` job, in order: `prepare` -> `validate_data` -> `train` ->
`evaluate` -> `register` -> `promote`. Each takes the run's `TaskContext`. Data moves between
tasks through the Delta table `gold.flights_training` (its version is passed on, so every task
reads exactly what `prepare` wrote), the trained model through a file in the run's folder.
With `trials: N` in its params, `train` first runs an Optuna search (the `tuning` extra).

`reproduce` retrains a registered version from its recorded table version, for
`lakestack models reproduce flights_delay <version>`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from lakestack.features import FeatureStore
from lakestack.pipelines import TaskContext
from lakestack.registry import Holdout, ModelRegistry, TrainingInputs, metric
from lakestack.validation import ValidationOptions, infer_schema, validate

from . import features

MODEL = "flights_delay"
TRAINING_TABLE = "gold.flights_training"
LABEL = "delayed"
# Numeric features only: the scheduled hour and distance from the flight, the rest looked up
# point in time from the feature tables. (`month` would be unseen by a time-based split.)
FEATURES = [
    "hour",
    "distance",
    "temp",
    "dewp",
    "humid",
    "wind_speed",
    "precip",
    "visib",
    "year_built",
    "seats",
    "engines",
    "carrier_7d_mean_delay",
    "carrier_7d_late_share",
    "carrier_7d_flights",
    "route_30d_mean_delay",
    "route_30d_late_share",
    "route_30d_flights",
]
KEEP = ["flight_id", "sched_dep_ts", "origin", "carrier", "dest", LABEL, "split"]
# LightGBM's own defaults for the last three, so that only a search changes them.
TRAIN_DEFAULTS = {
    "seed": 0,
    "rounds": 200,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 20,
    "feature_fraction": 1.0,
    "lambda_l2": 0.0,
}
# The optional hyper-parameter search (`trials` > 0): the metric it maximizes on a validation
# slice, the last part (by time) of the training period; the holdout is left to the gates.
SEARCH_METRIC = "roc_auc"
SEARCH_SCORE = f"search_valid_{SEARCH_METRIC}"
VALIDATION_FRACTION = 0.2


def _utc(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def split_by_time(
    data: pl.DataFrame, train_start: str, train_end: str, holdout_end: str
) -> pl.DataFrame:
    """Flights in [train_start, holdout_end), with `split` = train before train_end, else holdout."""
    ts = pl.col("sched_dep_ts")
    return data.filter(ts >= _utc(train_start), ts < _utc(holdout_end)).with_columns(
        split=pl.when(ts < _utc(train_end)).then(pl.lit("train")).otherwise(pl.lit("holdout"))
    )


def latest_window(
    ctx: TaskContext, label_table: str, train_days: int, holdout_days: int
) -> dict[str, str]:
    """The window ending at midnight after the latest label in `label_table` (continuous
    training: only flights whose outcome has arrived are used)."""
    latest = ctx.read_polars(label_table, columns=["sched_dep_ts"])["sched_dep_ts"].max()
    if latest is None:
        raise ValueError(f"{label_table} has no labels yet: nothing to retrain on")
    assert isinstance(latest, datetime)
    holdout_end = latest.date() + timedelta(days=1)
    train_end = holdout_end - timedelta(days=holdout_days)
    train_start = train_end - timedelta(days=train_days)
    return {
        "train_start": train_start.isoformat(),
        "train_end": train_end.isoformat(),
        "holdout_end": holdout_end.isoformat(),
    }


def prepare(ctx: TaskContext) -> dict[str, Any]:
    """Labels in the time window, their features point in time, and the split, to a table.

    The window is `train_start`, `train_end`, `holdout_end` (dates), or, with `label_table`,
    `train_days` and `holdout_days`, the one ending with the latest label (`latest_window`).
    """
    p = dict(ctx.params)
    if "label_table" in p:
        p.update(latest_window(ctx, p["label_table"], p["train_days"], p["holdout_days"]))
        ctx.logger.info("window from the latest labels: %s", p)
    labels = split_by_time(
        features.labels(ctx.lake), p["train_start"], p["train_end"], p["holdout_end"]
    )
    if p.get("sample") and labels.height > p["sample"]:
        labels = labels.sample(p["sample"], seed=p.get("seed", 0)).sort("sched_dep_ts", "flight_id")
    training = features.training_set(FeatureStore(ctx.lake), labels)
    data = training.to_polars().select(*KEEP, pl.col(FEATURES).cast(pl.Float64))
    version = ctx.write_table(TRAINING_TABLE, data)
    counts = dict(data.group_by("split").len().iter_rows())
    ctx.logger.info("training set v%s: %s rows per split", version, counts)
    return {"version": version, "feature_spec": training.spec.to_json(), "rows": counts, **p}


def _split(data: pl.DataFrame, name: str) -> pl.DataFrame:
    return data.filter(pl.col("split") == name)


def validate_data(ctx: TaskContext) -> dict[str, Any]:
    """The data gate: the holdout against the training rows' schema; a FAIL stops the job.

    Values past the training range only warn: later months are warmer, and that is drift to
    report, not broken data.
    """
    data = ctx.read_polars(TRAINING_TABLE, version=ctx.upstream["prepare"]["version"])
    schema = infer_schema(_split(data, "train").select(FEATURES))
    options = ValidationOptions(out_of_range_fail=1.0)
    report = validate(_split(data, "holdout").select(FEATURES), schema, options=options)
    for anomaly in report.anomalies:
        ctx.logger.warning("%s: %s", anomaly.severity, anomaly.message)
    report.raise_for_errors()
    return {"schema": schema.to_json(), "warnings": len(report.warnings)}


def fit(train: pl.DataFrame, params: dict[str, Any]) -> Any:
    """A seeded, deterministic LightGBM booster (the same data and params give the same model)."""
    import lightgbm as lgb

    p = {**TRAIN_DEFAULTS, **{k: v for k, v in params.items() if k in TRAIN_DEFAULTS}}
    config = {
        "objective": "binary",
        **{k: v for k, v in p.items() if k != "rounds"},
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }
    dataset = lgb.Dataset(train.select(FEATURES).to_pandas(), train[LABEL].cast(pl.Int8).to_numpy())
    return lgb.train(config, dataset, num_boost_round=p["rounds"])


def score(booster: Any, data: pl.DataFrame) -> dict[str, float]:
    """Holdout metrics of a booster."""
    y = data[LABEL].cast(pl.Float64).to_numpy()
    s = booster.predict(data.select(FEATURES).to_pandas())
    return {name: metric(name, y, s) for name in ("roc_auc", "log_loss", "brier", "accuracy")}


def split_validation(train: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The training rows before a cut-off time, and the last ones (by time) to validate on."""
    ts = pl.col("sched_dep_ts")
    cut = train["sched_dep_ts"].sort()[int(train.height * (1 - VALIDATION_FRACTION))]
    return train.filter(ts < cut), train.filter(ts >= cut)


def _optuna() -> Any:
    """Optuna, quiet, or an error naming the extra that installs it."""
    try:
        import optuna
    except ImportError as error:
        raise ImportError(
            "the hyper-parameter search (`trials` > 0) needs Optuna: "
            "pip install 'lakestack[tuning]'"
        ) from error
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _suggest(trial: Any) -> dict[str, Any]:
    return {
        "num_leaves": trial.suggest_int("num_leaves", 8, 128, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 5, 200, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
    }


def search(train: pl.DataFrame, params: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """A seeded Optuna study of `trials` trials (at most `timeout_s` seconds): the best
    hyper-parameters and their `SEARCH_METRIC` on the validation slice of `train`."""
    optuna = _optuna()
    fit_rows, valid = split_validation(train)

    def objective(trial: Any) -> float:
        return score(fit(fit_rows, {**params, **_suggest(trial)}), valid)[SEARCH_METRIC]

    sampler = optuna.samplers.TPESampler(seed=params.get("seed", 0))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=params["trials"], timeout=params.get("timeout_s"))
    return study.best_params, study.best_value


def tune_and_fit(train: pl.DataFrame, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The booster and the parameters it was trained with: searched first if `trials` > 0."""
    params = {**TRAIN_DEFAULTS, **params}
    if params.get("trials", 0) > 0:
        best, value = search(train, params)
        params = {**params, **best, SEARCH_SCORE: value}
    return fit(train, params), params


def _model_file(ctx: TaskContext) -> Path:
    return ctx.project.state_dir / ctx.environment / "runs" / ctx.run_id / f"{MODEL}.txt"


def train(ctx: TaskContext) -> dict[str, Any]:
    """Train on the train split (after a search if `trials` > 0); the booster goes to a file.

    The parameters returned, the searched ones included, are those `register` records, so
    `reproduce` retrains the same model without searching again.
    """
    data = ctx.read_polars(TRAINING_TABLE, version=ctx.upstream["prepare"]["version"])
    booster, params = tune_and_fit(_split(data, "train"), ctx.params)
    if SEARCH_SCORE in params:
        ctx.log_metric(SEARCH_SCORE, params[SEARCH_SCORE])
        ctx.logger.info("search: best parameters %s", params)
    path = _model_file(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(path))
    return {"model_file": str(path), "params": params}


def evaluate(ctx: TaskContext) -> dict[str, Any]:
    """Metrics on the holdout, overall and per origin airport."""
    import lightgbm as lgb

    booster = lgb.Booster(model_file=ctx.upstream["train"]["model_file"])
    holdout = _split(
        ctx.read_polars(TRAINING_TABLE, version=ctx.upstream["prepare"]["version"]), "holdout"
    )
    metrics = score(booster, holdout)
    for name, value in metrics.items():
        ctx.log_metric(name, value)
    by_origin = {o: score(booster, part)["roc_auc"] for (o,), part in holdout.group_by("origin")}
    return {"metrics": metrics, "roc_auc_by_origin": by_origin}


def register(ctx: TaskContext) -> dict[str, Any]:
    """Log the model with its lineage and register a new version of `flights_delay`."""
    import lightgbm as lgb
    from mlflow.models import infer_signature

    prep, trained = ctx.upstream["prepare"], ctx.upstream["train"]
    booster = lgb.Booster(model_file=trained["model_file"])
    data = ctx.read_polars(TRAINING_TABLE, version=prep["version"])
    example = _split(data, "holdout").select(FEATURES).head(500).to_pandas()
    info = ModelRegistry(ctx.project, ctx.environment, lake=ctx.lake).log_model(
        booster,
        MODEL,
        signature=infer_signature(example, booster.predict(example)),
        input_example=example.head(5),
        feature_spec=prep["feature_spec"],
        data_schema=ctx.upstream["validate_data"]["schema"],
        training_tables={TRAINING_TABLE: prep["version"]},
        holdout=Holdout(
            TRAINING_TABLE, prep["version"], LABEL, filters=[["split", "=", "holdout"]]
        ),
        metrics=ctx.upstream["evaluate"]["metrics"],
        params=trained["params"],
        entry_point="flights_ml.training:reproduce",
    )
    ctx.record_mlflow_run(str(info.run_id))
    return {"version": info.version}


def promote(ctx: TaskContext) -> dict[str, Any]:
    """Gate the new version and give it the stage (`staging` by default) if the gates pass."""
    version = ctx.upstream["register"]["version"]
    registry = ModelRegistry(ctx.project, ctx.environment, lake=ctx.lake)
    result = registry.promote(
        MODEL, version, to=ctx.params.get("stage", "staging"), raise_on_failure=False
    )
    for gate in result.report.results:
        ctx.logger.info("%s %s: %s", "PASS" if gate.passed else "FAIL", gate.name, gate.message)
    return {"version": version, "stage": result.stage, "promoted": result.applied}


def reproduce(inputs: TrainingInputs) -> dict[str, float]:
    """Retrain from the recorded training table version; the holdout metrics."""
    data = inputs.read_polars(TRAINING_TABLE)
    return score(fit(_split(data, "train"), inputs.params), _split(data, "holdout"))
