"""Profile metrics of each window, column and slice: count, nulls, mean, quantiles, frequencies."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    import polars as pl

__all__ = ["ALL_ROWS", "QUANTILES", "TOP_VALUES", "profile_windows"]

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
TOP_VALUES = 20
ALL_ROWS = "all"
WINDOW = "window_start"


def _numeric(frame: pl.DataFrame, column: str) -> bool:
    return frame.schema[column].is_numeric()


def profile_windows(frame: pl.DataFrame, columns: list[str], slices: list[str]) -> pl.DataFrame:
    """One row per window, slice and column of `frame` (which has a `window_start` column).

    Numeric columns get count, nulls (NaN counts as null), mean and the 5/25/50/75/95th
    percentiles; other columns get count, nulls and the relative frequencies of their
    `TOP_VALUES` most frequent values (a JSON object) in `frequencies`.
    """
    import polars as pl

    parts = [_by(frame, columns, None)]
    parts += [_by(frame, columns, name) for name in slices]
    return pl.concat(parts, how="vertical_relaxed").sort(WINDOW, "slice", "column")


def _by(frame: pl.DataFrame, columns: list[str], slice_column: str | None) -> pl.DataFrame:
    import polars as pl

    keys = [WINDOW] if slice_column is None else [WINDOW, slice_column]
    slice_expr = (
        pl.lit(ALL_ROWS)
        if slice_column is None
        else pl.format(
            "{}={}", pl.lit(slice_column), pl.col(slice_column).cast(pl.String).fill_null("(null)")
        )
    )
    rows: list[pl.DataFrame] = []
    for column in columns:
        if column == slice_column:
            continue
        col = pl.col(column)
        if _numeric(frame, column):
            values = col.cast(pl.Float64).fill_nan(None)
            aggs = [
                pl.len().alias("count"),
                values.null_count().alias("nulls"),
                values.mean().alias("mean"),
                *[values.quantile(q).alias(f"p{round(q * 100):02d}") for q in QUANTILES],
            ]
            part = (
                frame.group_by(keys)
                .agg(aggs)
                .with_columns(pl.lit(None, dtype=pl.String).alias("frequencies"))
            )
        else:
            part = frame.group_by(keys).agg(
                pl.len().alias("count"), col.null_count().alias("nulls")
            )
            part = part.with_columns(
                pl.lit(None, dtype=pl.Float64).alias(name)
                for name in ["mean", *[f"p{round(q * 100):02d}" for q in QUANTILES]]
            ).join(_frequencies(frame, keys, column), on=keys, how="left", nulls_equal=True)
        rows.append(part.with_columns(slice_expr.alias("slice"), pl.lit(column).alias("column")))
    if not rows:
        return _empty()
    out = pl.concat(rows, how="vertical_relaxed")
    return out.select(
        WINDOW,
        "slice",
        "column",
        pl.col("count").cast(pl.Int64),
        pl.col("nulls").cast(pl.Int64),
        "mean",
        *[f"p{round(q * 100):02d}" for q in QUANTILES],
        "frequencies",
    )


def _frequencies(frame: pl.DataFrame, keys: list[str], column: str) -> pl.DataFrame:
    import polars as pl

    counts = (
        frame.group_by([*keys, column])
        .len()
        .with_columns((pl.col("len") / pl.col("len").sum().over(keys)).alias("share"))
        .sort("len", descending=True)
    )
    out: dict[tuple[object, ...], dict[str, float]] = {}
    for row in counts.iter_rows(named=True):
        group = tuple(row[k] for k in keys)
        top = out.setdefault(group, {})
        if len(top) < TOP_VALUES:
            value = row[column]
            top["(null)" if value is None else str(value)] = round(float(row["share"]), 6)
    return pl.DataFrame(
        {
            **{k: [g[i] for g in out] for i, k in enumerate(keys)},
            "frequencies": [orjson.dumps(v).decode() for v in out.values()],
        },
        schema={**{k: frame.schema[k] for k in keys}, "frequencies": pl.String},
    )


def _empty() -> pl.DataFrame:
    import polars as pl

    schema: dict[str, pl.DataType] = {
        WINDOW: pl.Datetime("us", "UTC"),
        "slice": pl.String(),
        "column": pl.String(),
        "count": pl.Int64(),
        "nulls": pl.Int64(),
        "mean": pl.Float64(),
        **{f"p{round(q * 100):02d}": pl.Float64() for q in QUANTILES},
        "frequencies": pl.String(),
    }
    return pl.DataFrame(schema=schema)
