"""The schema and statistics of a dataset, and their JSON form.

A :class:`Schema` is what `infer_schema` learns from training data and what is stored with every
model version: per column its type, null rate and enough statistics (quantiles, a histogram,
category frequencies) to validate and measure drift later without reading the baseline again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from lakestack.errors import DataValidationError

__all__ = [
    "FORMAT_VERSION",
    "PERCENTILE_LEVELS",
    "QUANTILE_LEVELS",
    "CategoricalStats",
    "ColumnSchema",
    "Histogram",
    "LogicalType",
    "NumericStats",
    "Schema",
    "TemporalStats",
]

FORMAT_VERSION = 1
#: The levels stored in :attr:`NumericStats.percentiles`: 0, 0.01, ..., 1.
PERCENTILE_LEVELS: tuple[float, ...] = tuple(i / 100 for i in range(101))
#: The levels :attr:`NumericStats.quantiles` reports.
QUANTILE_LEVELS: tuple[float, ...] = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)


class LogicalType(StrEnum):
    """What a column holds, independent of its physical Arrow type."""

    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    CATEGORICAL = "categorical"
    TIMESTAMP = "timestamp"
    DATE = "date"
    OTHER = "other"

    @property
    def is_numeric(self) -> bool:
        """Integers and floats: statistics are quantiles and a histogram."""
        return self in (LogicalType.INTEGER, LogicalType.FLOAT)

    @property
    def is_categorical(self) -> bool:
        """Strings, categoricals and booleans: statistics are a domain of values."""
        return self in (LogicalType.CATEGORICAL, LogicalType.BOOLEAN)


@dataclass(frozen=True, slots=True)
class Histogram:
    """Counts of the baseline's values in fixed bins; drift is measured on these bins.

    Bin ``i`` is ``[edges[i], edges[i + 1])`` and the last bin includes ``edges[-1]``. When new
    data is binned, the first and last bins are open-ended, so values outside the baseline's
    range land in them.

    Attributes:
        edges: bin edges, non-decreasing, one more than ``counts``.
        counts: baseline values per bin.
        discrete: True when the column had few distinct values and each bin holds exactly one
            of them (``edges[i]``); the histogram then is the exact distribution.
    """

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    discrete: bool = False

    def __post_init__(self) -> None:
        if len(self.edges) != len(self.counts) + 1:
            raise DataValidationError(
                f"a histogram needs one more edge than counts, got {len(self.edges)} edges "
                f"and {len(self.counts)} counts; rebuild the schema with infer_schema"
            )


@dataclass(frozen=True, slots=True)
class NumericStats:
    """Statistics of the finite values of a numeric column (NaN and ±inf count as missing).

    Attributes:
        min: smallest value.
        max: largest value.
        mean: arithmetic mean.
        std: population standard deviation (ddof=0).
        distinct: number of distinct values.
        percentiles: the values at levels 0, 0.01, ..., 1 (linear interpolation, as
            ``numpy.quantile``); the baseline's ECDF for the Kolmogorov-Smirnov test.
        histogram: the bins drift is computed on.
    """

    min: float
    max: float
    mean: float
    std: float
    distinct: int
    percentiles: tuple[float, ...]
    histogram: Histogram

    @property
    def quantiles(self) -> dict[float, float]:
        """The usual quantiles (0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1) by level."""
        return {q: self.percentiles[round(q * 100)] for q in QUANTILE_LEVELS}


@dataclass(frozen=True, slots=True)
class CategoricalStats:
    """The domain of a string, categorical or boolean column (values as strings).

    Attributes:
        distinct: number of distinct non-null values.
        values: the most frequent values, most frequent first (ties by value).
        counts: rows per value in ``values``.
        other_count: rows whose value is not in ``values`` (0 unless the domain was cut to the
            top K).
    """

    distinct: int
    values: tuple[str, ...]
    counts: tuple[int, ...]
    other_count: int = 0

    @property
    def complete(self) -> bool:
        """True when ``values`` is the whole domain, so that a new value is an anomaly."""
        return self.other_count == 0

    @property
    def frequencies(self) -> dict[str, float]:
        """Each value's share of the non-null rows."""
        total = sum(self.counts) + self.other_count
        return {v: c / total for v, c in zip(self.values, self.counts, strict=True)}


@dataclass(frozen=True, slots=True)
class TemporalStats:
    """The range of a timestamp or date column, as ISO 8601 strings."""

    min: str
    max: str


@dataclass(frozen=True, slots=True)
class ColumnSchema:
    """One column of a :class:`Schema`.

    Attributes:
        name: column name.
        logical_type: what the column holds.
        arrow_type: the Arrow type as Arrow prints it (``int64``, ``large_string``, ...).
        count: non-missing values.
        null_count: missing values (nulls, and NaN or ±inf in float columns).
        numeric: statistics of a numeric column with at least one value.
        categorical: the domain of a categorical or boolean column with at least one value.
        temporal: the range of a timestamp or date column with at least one value.
    """

    name: str
    logical_type: LogicalType
    arrow_type: str
    count: int
    null_count: int
    numeric: NumericStats | None = None
    categorical: CategoricalStats | None = None
    temporal: TemporalStats | None = None

    @property
    def null_fraction(self) -> float:
        """Share of the rows that are missing."""
        rows = self.count + self.null_count
        return self.null_count / rows if rows else 0.0

    @property
    def nullable(self) -> bool:
        """True when the baseline had missing values in this column."""
        return self.null_count > 0


@dataclass(frozen=True, slots=True)
class Schema:
    """The columns, types and statistics of a baseline dataset.

    Attributes:
        columns: one entry per column, in the data's order.
        row_count: rows in the baseline.
    """

    columns: tuple[ColumnSchema, ...]
    row_count: int

    @property
    def names(self) -> list[str]:
        """The column names in order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSchema:
        """The column called ``name``.

        Raises:
            DataValidationError: the schema has no such column.
        """
        for col in self.columns:
            if col.name == name:
                return col
        raise DataValidationError(
            f"column {name!r} is not in the schema; its columns are {self.names}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary; :meth:`from_dict` reads it back exactly."""
        return {
            "format_version": FORMAT_VERSION,
            "row_count": self.row_count,
            "columns": [_column_to_dict(c) for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        """Read a dictionary written by :meth:`to_dict`.

        Raises:
            DataValidationError: the dictionary is not a schema of a known format version.
        """
        version = data.get("format_version") if isinstance(data, dict) else None
        if version != FORMAT_VERSION:
            raise DataValidationError(
                f"unsupported schema format_version {version!r} (this lakestack reads "
                f"{FORMAT_VERSION}); infer the schema again with infer_schema"
            )
        columns = []
        for i, col in enumerate(data.get("columns", [])):
            try:
                columns.append(_column_from_dict(col))
            except (KeyError, TypeError, ValueError) as exc:
                name = col.get("name", f"#{i}") if isinstance(col, dict) else f"#{i}"
                raise DataValidationError(
                    f"schema column {name!r} is malformed ({type(exc).__name__}: {exc}); "
                    "infer the schema again with infer_schema"
                ) from exc
        return cls(columns=tuple(columns), row_count=int(data["row_count"]))

    def to_json(self, *, indent: int | None = None) -> str:
        """The schema as JSON (floats keep their exact value)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Schema:
        """Read JSON written by :meth:`to_json`.

        Raises:
            DataValidationError: the text is not JSON or not a schema.
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise DataValidationError(f"schema JSON cannot be parsed: {exc}") from exc
        return cls.from_dict(data)

    def save(self, path: str | Path) -> Path:
        """Write the schema as JSON to ``path`` and return the path."""
        target = Path(path)
        target.write_text(self.to_json(indent=1), encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> Schema:
        """Read a schema written by :meth:`save`.

        Raises:
            DataValidationError: the file is missing or not a schema.
        """
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise DataValidationError(
                f"cannot read schema file {str(source)!r} ({exc.strerror}); "
                "check the path or save the schema first with Schema.save"
            ) from exc
        return cls.from_json(text)


def _column_to_dict(col: ColumnSchema) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": col.name,
        "logical_type": col.logical_type.value,
        "arrow_type": col.arrow_type,
        "count": col.count,
        "null_count": col.null_count,
    }
    if col.numeric is not None:
        n = col.numeric
        out["numeric"] = {
            "min": n.min,
            "max": n.max,
            "mean": n.mean,
            "std": n.std,
            "distinct": n.distinct,
            "percentiles": list(n.percentiles),
            "histogram": {
                "edges": list(n.histogram.edges),
                "counts": list(n.histogram.counts),
                "discrete": n.histogram.discrete,
            },
        }
    if col.categorical is not None:
        c = col.categorical
        out["categorical"] = {
            "distinct": c.distinct,
            "values": list(c.values),
            "counts": list(c.counts),
            "other_count": c.other_count,
        }
    if col.temporal is not None:
        out["temporal"] = {"min": col.temporal.min, "max": col.temporal.max}
    return out


def _column_from_dict(d: dict[str, Any]) -> ColumnSchema:
    numeric = categorical = temporal = None
    if (n := d.get("numeric")) is not None:
        h = n["histogram"]
        numeric = NumericStats(
            min=float(n["min"]),
            max=float(n["max"]),
            mean=float(n["mean"]),
            std=float(n["std"]),
            distinct=int(n["distinct"]),
            percentiles=tuple(float(v) for v in n["percentiles"]),
            histogram=Histogram(
                edges=tuple(float(v) for v in h["edges"]),
                counts=tuple(int(v) for v in h["counts"]),
                discrete=bool(h["discrete"]),
            ),
        )
    if (c := d.get("categorical")) is not None:
        categorical = CategoricalStats(
            distinct=int(c["distinct"]),
            values=tuple(str(v) for v in c["values"]),
            counts=tuple(int(v) for v in c["counts"]),
            other_count=int(c["other_count"]),
        )
    if (t := d.get("temporal")) is not None:
        temporal = TemporalStats(min=str(t["min"]), max=str(t["max"]))
    return ColumnSchema(
        name=str(d["name"]),
        logical_type=LogicalType(d["logical_type"]),
        arrow_type=str(d["arrow_type"]),
        count=int(d["count"]),
        null_count=int(d["null_count"]),
        numeric=numeric,
        categorical=categorical,
        temporal=temporal,
    )
