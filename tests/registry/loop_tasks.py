"""The training job of the loop tests' projects (copied into each project's folder).

One task trains on a time window of `silver.samples`, logs the version with its lineage (the
holdout, the training period, the data schema) and lets the gates decide on `production`.
Nothing here names the problem type: the registry infers it from the model and the labels.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from lakestack.pipelines import TaskContext
from lakestack.registry import Holdout, Lineage, ModelRegistry, TrainingPeriod
from lakestack.validation import infer_schema

TIME = "event_ts"


def _window(ctx: TaskContext) -> tuple[datetime, datetime, datetime]:
    """`train_start`, `train_end`, `holdout_end`: given, or ending with the latest label."""
    p = ctx.params
    if "train_end" in p:
        return tuple(
            datetime.fromisoformat(p[k]).replace(tzinfo=UTC)
            for k in ("train_start", "train_end", "holdout_end")
        )  # type: ignore[return-value]
    latest = ctx.read_polars(p["label_table"], columns=[TIME])[TIME].max()
    assert isinstance(latest, datetime)
    holdout_end = datetime.combine(latest.date() + timedelta(days=1), datetime.min.time(), UTC)
    train_end = holdout_end - timedelta(days=p["holdout_days"])
    return train_end - timedelta(days=p["train_days"]), train_end, holdout_end


def _estimator(kind: str) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "hist_gradient_boosting":
        return make_pipeline(StandardScaler(), HistGradientBoostingRegressor(random_state=0))
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def train(ctx: TaskContext) -> dict[str, Any]:
    """Train, log with lineage, and promote to production if the gates pass."""
    from mlflow.models import infer_signature

    p = ctx.params
    start, end, holdout_end = _window(ctx)
    ts = pl.col(TIME)
    data = (
        ctx.read_polars("silver.samples")
        .filter((ts >= start) & (ts < holdout_end))
        .with_columns(split=pl.when(ts < end).then(pl.lit("train")).otherwise(pl.lit("holdout")))
    )
    table = f"gold.{p['model']}_training"
    version = ctx.write_table(table, data)
    features = [c for c in data.columns if c not in ("sample_id", TIME, p["label"], "split")]
    rows = data.filter(pl.col("split") == "train")
    x, y = rows.select(features).to_pandas(), rows[p["label"]].to_numpy()
    model = _estimator(p["estimator"]).fit(x, y)
    output = model.predict_proba(x) if hasattr(model, "predict_proba") else model.predict(x)
    registry = ModelRegistry(ctx.project, ctx.environment, lake=ctx.lake)
    info = registry.log_model(
        model,
        p["model"],
        signature=infer_signature(x, output),
        input_example=x.head(3),
        lineage=Lineage(
            training_tables={table: version},
            holdout=Holdout(table, version, p["label"], filters=[["split", "=", "holdout"]]),
            training_period=TrainingPeriod(TIME, start, end),
            data_schema=infer_schema(rows.select(features)),
        ),
    )
    promotion = registry.promote(p["model"], info.version, to="production", raise_on_failure=False)
    return {"version": info.version, "promoted": promotion.applied, "rows": rows.height}
