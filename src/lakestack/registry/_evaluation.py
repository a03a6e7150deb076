"""What the gates score: the holdout, its labels, each version's scores, the problem type, and
the rows that compare a candidate with production fairly.

Both versions are loaded and score the holdout once, lazily, whichever gates ask. Labels and
scores are encoded for the candidate's problem type (`ModelProblem`); production's must have the
same problem type and classes. A comparison with production leaves out the holdout rows inside
production's recorded training period, where production would be judged on rows it learnt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lakestack.errors import RegistryError
from lakestack.metric_catalog import DEFAULT_METRIC, metric_misfit
from lakestack.registry._loader import raw_output
from lakestack.registry._metrics import metric
from lakestack.registry._problem import ModelProblem

if TYPE_CHECKING:
    import polars as pl

    from lakestack.config import GatesConfig
    from lakestack.registry._registry import ModelRegistry
    from lakestack.registry._types import Holdout, ModelVersionInfo

__all__ = ["Comparison", "Evaluation", "read_holdout"]

Array = npt.NDArray[np.float64]


def read_holdout(
    reg: ModelRegistry, holdout: Holdout, columns: list[str] | None = None
) -> pl.DataFrame:
    """The rows of a recorded holdout (time travel to its version, its filters applied)."""
    filters = None
    if holdout.filters:
        filters = [tuple(f) for f in holdout.filters]
    env = holdout.environment if holdout.environment != reg.lake.environment else None
    if columns is not None and filters:
        columns = list(dict.fromkeys([*columns, *(str(f[0]) for f in filters)]))
    return reg.lake.read_polars(
        holdout.table,
        version=holdout.version,
        columns=columns,
        filters=filters,  # type: ignore[arg-type]
        environment=env,
    )


@dataclass(frozen=True)
class Comparison:
    """The holdout rows a comparison with production judges on.

    Attributes:
        mask: the rows kept (None: every row).
        note: what was left out and why ("" when nothing was).
    """

    mask: npt.NDArray[np.bool_] | None
    note: str

    def rows(self, values: Array) -> Array:
        return values if self.mask is None else values[self.mask]


class Evaluation:
    """Lazily loaded models and their scores on the holdout, shared by the gates."""

    def __init__(
        self,
        reg: ModelRegistry,
        candidate: ModelVersionInfo,
        baseline: ModelVersionInfo | None,
        holdout: Any,
        label: str | None,
        config: GatesConfig,
    ) -> None:
        self.reg = reg
        self.candidate = candidate
        self.baseline = baseline
        self.given_holdout = holdout
        self._label = label
        self.config = config
        self._frame: pl.DataFrame | None = None
        self._problem: ModelProblem | None = None
        self._scores: dict[int, tuple[Array, bool]] = {}
        self._comparison: Comparison | None = None

    @property
    def has_holdout(self) -> bool:
        return self.given_holdout is not None or self.candidate.holdout is not None

    @property
    def frame(self) -> pl.DataFrame:
        if self._frame is None:
            import polars as pl

            data = self.given_holdout
            if data is None:
                recorded = self.candidate.holdout
                if recorded is None:
                    raise RegistryError(
                        "no holdout: pass holdout=<frame with the label column> to promote "
                        "(--holdout TABLE@VERSION on the CLI), or log the version with "
                        "Lineage(holdout=Holdout(table, version, label))"
                    )
                data = read_holdout(self.reg, recorded)
            frame = data if isinstance(data, pl.DataFrame) else pl.DataFrame(data)
            if frame.height == 0:
                raise RegistryError("the holdout has no rows")
            self._frame = frame
        return self._frame

    @property
    def label(self) -> str:
        recorded = self.candidate.holdout
        label = (
            self._label
            or (recorded.label if recorded else None)
            or self.candidate.tag("label")
            or self.reg.model_config(self.candidate.name).label
        )
        if label is None:
            raise RegistryError(
                f"which column of the holdout is the label? Set models.{self.candidate.name}."
                "label in lakestack.yaml, or pass label="
            )
        if label not in self.frame.columns:
            raise RegistryError(
                f"the holdout has no label column {label!r}; its columns: "
                f"{', '.join(self.frame.columns)}"
            )
        return label

    @property
    def problem(self) -> ModelProblem:
        """The candidate's problem type and classes (recorded, declared, or from its labels)."""
        if self._problem is None:
            declared = self.reg.model_config(self.candidate.name).problem
            labels = None
            if self.candidate.problem is None and self.has_holdout:
                labels = self.frame.get_column(self.label)
            self._problem = ModelProblem.of_version(self.candidate, declared, labels)
        return self._problem

    def metric_name(self, configured: str | None) -> str:
        """The metric a gate uses: the configured one if it fits the problem, else refused.

        Raises:
            RegistryError: the metric does not fit the candidate's problem type.
        """
        problem = self.problem.problem
        name = configured or DEFAULT_METRIC[problem]
        misfit = metric_misfit(name, problem)
        if misfit:
            raise RegistryError(f"{misfit} (version {self.candidate.version})")
        return name

    @property
    def y(self) -> Array:
        return self.problem.targets(self.frame.get_column(self.label))

    def scores(self, info: ModelVersionInfo) -> tuple[Array, bool]:
        """A version's scores on the holdout, encoded for the candidate's problem type, and
        whether they are probabilities."""
        if info.version not in self._scores:
            problem = self.problem
            if info.version != self.candidate.version:
                problem = self._comparable(info)
            model = self.reg.load_model(info.name, info.version)
            values, probabilities = problem.scores(raw_output(model, self.frame))
            if problem.classes != self.problem.classes and values.ndim == 2:
                assert problem.classes is not None and self.problem.classes is not None
                order = [problem.classes.index(c) for c in self.problem.classes]
                values = values[:, order]
            self._scores[info.version] = (values, probabilities)
        return self._scores[info.version]

    def _comparable(self, info: ModelVersionInfo) -> ModelProblem:
        declared = self.reg.model_config(info.name).problem
        other = ModelProblem.of_version(info, declared, self.frame.get_column(self.label))
        mine = self.problem
        if other.problem != mine.problem:
            raise RegistryError(
                f"version {info.version} is a {other.problem} model and the candidate "
                f"(version {self.candidate.version}) a {mine.problem} one: they cannot be compared"
            )
        if (other.classes is None) != (mine.classes is None) or (
            other.classes is not None
            and mine.classes is not None
            and set(other.classes) != set(mine.classes)
        ):
            raise RegistryError(
                f"version {info.version} has classes {other.classes} and the candidate "
                f"{mine.classes}: they cannot be compared"
            )
        return other

    def value(self, name: str, info: ModelVersionInfo, rows: Comparison | None = None) -> float:
        """A metric of a version on the holdout (on `rows` of it when given)."""
        scores, probabilities = self.scores(info)
        self.problem.check_scores(name, probabilities)
        y = self.y
        if rows is not None and rows.mask is not None:
            y, scores = y[rows.mask], scores[rows.mask]
        return metric(name, y, scores)

    def comparison(self) -> Comparison:
        """The holdout rows outside production's recorded training period.

        Raises:
            RegistryError: the holdout overlaps that period and `overlap` is `refuse`, too few
                rows are left, or the holdout lacks the period's time column.
        """
        if self._comparison is None:
            self._comparison = self._compare()
        return self._comparison

    def _compare(self) -> Comparison:
        baseline = self.baseline
        period = None if baseline is None else baseline.training_period
        if baseline is None or period is None:
            return Comparison(None, "")
        column = period.column
        where = f"production v{baseline.version}'s training period ({_span(period)})"
        if column not in self.frame.columns:
            raise RegistryError(
                f"the holdout has no column {column!r} to keep it out of {where}; add the "
                "column to the holdout"
            )
        times = _utc_times(self.frame.get_column(column))
        start, end = (
            np.datetime64(period.start.replace(tzinfo=None), "us"),
            np.datetime64(period.end.replace(tzinfo=None), "us"),
        )
        inside = (times >= start) & (times < end)
        overlap, total = int(inside.sum()), int(inside.size)
        if overlap == 0:
            return Comparison(None, "")
        kept = total - overlap
        if self.config.overlap == "refuse":
            raise RegistryError(
                f"{overlap} of the {total} holdout rows are inside {where}, which favours "
                "production; record a holdout after it (or set gates.overlap: rescope)"
            )
        if kept < self.config.min_rescoped_rows:
            raise RegistryError(
                f"{overlap} of the {total} holdout rows are inside {where}; the {kept} left are "
                f"fewer than min_rescoped_rows ({self.config.min_rescoped_rows}): record a "
                f"holdout after {period.end:%Y-%m-%d %H:%M}"
            )
        note = f"rescoped to the {kept} of {total} holdout rows outside {where}"
        return Comparison(~inside, note)


def _span(period: Any) -> str:
    return f"{period.column} in [{period.start:%Y-%m-%d %H:%M}, {period.end:%Y-%m-%d %H:%M}) UTC"


def _utc_times(column: pl.Series) -> npt.NDArray[np.datetime64]:
    """A date or time column as naive UTC microseconds."""
    import polars as pl

    dtype = column.dtype
    if dtype == pl.Date:
        column = column.cast(pl.Datetime("us"))
    elif isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        column = column.dt.cast_time_unit("us")
    else:
        raise RegistryError(
            f"the holdout's column {column.name!r} is {dtype}, not a date or time: it cannot be "
            "compared with a training period"
        )
    return column.to_numpy()
