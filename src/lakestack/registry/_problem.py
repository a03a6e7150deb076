"""A version's problem type and classes: decided when it is logged, read by gates and monitors.

At log time the problem type comes from `models.<name>.problem` (or `problem=`), else from the
model (a scikit-learn classifier or regressor, a LightGBM booster's objective) and the label
values of the holdout; evidence that contradicts a declaration is refused. A classifier's
classes are recorded in the order of its probability columns, so that labels and scores can be
matched later (`targets`, `scores`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lakestack.errors import RegistryError
from lakestack.metric_catalog import PROBABILITY_METRICS, ProblemType, infer_problem

if TYPE_CHECKING:
    from lakestack.registry._types import ModelVersionInfo

__all__ = ["ModelProblem", "model_evidence"]

Array = npt.NDArray[np.float64]
_BINARY_OBJECTIVES = {"binary", "cross_entropy", "xentropy", "cross_entropy_lambda", "xentlambda"}
_MULTICLASS_OBJECTIVES = {"multiclass", "softmax", "multiclassova", "multiclass_ova", "ova", "ovr"}
_RANKING_OBJECTIVES = {"lambdarank", "rank_xendcg", "xendcg", "xe_ndcg", "xe_ndcg_mart"}


def _plain(value: Any) -> Any:
    """A class label as a JSON value (NumPy scalars become Python ones)."""
    return value.item() if hasattr(value, "item") else value


def _booster_evidence(model: Any) -> tuple[ProblemType | None, list[Any] | None]:
    objective = str((getattr(model, "params", None) or {}).get("objective") or "")
    num_class = (getattr(model, "params", None) or {}).get("num_class")
    if not objective:  # a booster read from a file keeps its objective in the model text
        text = model.model_to_string(num_iteration=1)
        found = re.search(r"^objective=(\S+)", text, re.M)
        objective = found.group(1) if found else ""
        classes = re.search(r"^num_class=(\d+)", text, re.M)
        num_class = int(classes.group(1)) if classes else None
    if objective in _BINARY_OBJECTIVES:
        return "binary", None
    if objective in _MULTICLASS_OBJECTIVES:
        return "multiclass", list(range(int(num_class))) if num_class else None
    if not objective or objective in _RANKING_OBJECTIVES:
        return None, None
    return "regression", None


def model_evidence(model: Any) -> tuple[ProblemType | None, list[Any] | None]:
    """What a model object says of its problem type and classes (None where it says nothing).

    A scikit-learn-style classifier (`classes_`) or regressor, a LightGBM booster (its
    objective); other objects say nothing.
    """
    if type(model).__name__ == "Booster" and type(model).__module__.startswith("lightgbm"):
        return _booster_evidence(model)
    if not (hasattr(model, "fit") and hasattr(model, "get_params")):
        return None, None
    from sklearn.base import is_classifier, is_regressor

    try:
        if is_regressor(model):
            return "regression", None
        if not is_classifier(model):
            return None, None
    except Exception:  # not a scikit-learn estimator after all
        return None, None
    classes = getattr(model, "classes_", None)
    if classes is None:
        return None, None
    found = [_plain(c) for c in classes]
    return ("binary" if len(found) == 2 else "multiclass"), found


@dataclass(frozen=True)
class ModelProblem:
    """A model's problem type and, for a classifier, its classes.

    Attributes:
        problem: `binary`, `multiclass` or `regression`.
        classes: the classes in the order of the probability columns (the last is a binary
            model's positive class); None when unknown (a binary model's labels are then 0/1).
    """

    problem: ProblemType
    classes: tuple[Any, ...] | None = None

    @classmethod
    def decide(
        cls,
        model: str,
        *,
        declared: ProblemType | None,
        evidence: tuple[ProblemType | None, list[Any] | None] = (None, None),
        labels: Sequence[Any] | Any | None = None,
    ) -> ModelProblem:
        """The problem of a version being logged, from the declaration, the model and labels.

        Raises:
            RegistryError: the evidence contradicts the declaration (or itself), or nothing
                tells the problem type or a multiclass model's classes.
        """
        said, classes = evidence
        from_labels = None if labels is None else infer_problem(labels)
        where = f"model {model!r}"
        if declared is not None and said is not None and said != declared:
            raise RegistryError(
                f"{where} is declared {declared} (models.{model}.problem), but the model is a "
                f"{said} model{_classes_text(classes)}; fix the declaration or the model"
            )
        problem = declared or said or from_labels
        if problem is None:
            raise RegistryError(
                f"cannot tell the problem type of {where}: declare models.{model}.problem in "
                "lakestack.yaml (binary, multiclass or regression) or pass problem= to log_model"
            )
        distinct = _distinct(labels)
        if classes is None and problem != "regression" and distinct is not None:
            classes = sorted(distinct, key=_order)
        _check_labels(model, problem, from_labels, distinct)
        if problem == "multiclass" and not classes:
            raise RegistryError(
                f"{where} is multiclass but its classes are unknown: record a holdout (its label "
                "column gives them) or log a classifier that has `classes_`"
            )
        if problem == "binary" and classes is not None and len(classes) != 2:
            raise RegistryError(f"{where} is binary but has classes {classes}")
        return cls(problem, None if problem == "regression" or not classes else tuple(classes))

    @classmethod
    def of_version(
        cls, info: ModelVersionInfo, declared: ProblemType | None, labels: Any = None
    ) -> ModelProblem:
        """The problem a version recorded; for an older version, the declaration or its labels.

        Raises:
            RegistryError: the version records no problem type and none can be told.
        """
        if info.problem is not None:
            classes = info.classes
            return cls(info.problem, None if classes is None else tuple(classes))
        return cls.decide(info.name, declared=declared, labels=labels)

    def tags(self) -> dict[str, str]:
        """The version tags that record it (`problem`, `classes`), without the prefix."""
        out: dict[str, str] = {"problem": self.problem}
        if self.classes is not None:
            out["classes"] = json.dumps(list(self.classes), default=str)
        return out

    def targets(self, labels: Any) -> Array:
        """Labels as metric input: 0/1 (binary), class indices (multiclass) or values.

        Raises:
            RegistryError: a label is not one of the classes, or not a number for regression.
        """
        values = np.asarray(labels.to_numpy() if hasattr(labels, "to_numpy") else labels)
        if self.problem == "regression" or (self.problem == "binary" and self.classes is None):
            try:
                return values.astype(np.float64)
            except (TypeError, ValueError):
                raise RegistryError(
                    f"the labels of a {self.problem} model must be numbers; got {values[:3]!r}"
                ) from None
        assert self.classes is not None
        index = {c: i for i, c in enumerate(self.classes)}
        unknown = sorted({_plain(v) for v in values if _plain(v) not in index}, key=_order)
        if unknown:
            raise RegistryError(
                f"label value(s) {unknown[:5]} are not classes of the model "
                f"({', '.join(map(str, self.classes))})"
            )
        codes = np.asarray([index[_plain(v)] for v in values], dtype=np.float64)
        return codes if self.problem == "multiclass" else (codes == 1).astype(np.float64)

    def scores(self, output: Any) -> tuple[Array, bool]:
        """A model's output as metric input, and whether it holds probabilities.

        Binary: the positive (last) class's probability; multiclass: one column per class;
        regression: the value. A classifier that returns classes is one-hot encoded, without
        probabilities.

        Raises:
            RegistryError: the output's shape does not fit the problem or the classes.
        """
        raw = output.to_numpy() if hasattr(output, "to_numpy") else output
        array = np.asarray(raw)
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if self.problem == "regression":
            if array.ndim != 1 or array.dtype.kind not in "iufb":
                raise RegistryError(
                    f"a regression model must return one number per row; got {array.shape}"
                )
            return array.astype(np.float64), False
        width = len(self.classes) if self.classes is not None else 2
        if array.ndim == 2:
            if array.shape[1] != width:
                raise RegistryError(
                    f"the model returned {array.shape[1]} columns for its {width} classes"
                )
            probabilities = array.astype(np.float64)
            if self.problem == "binary":
                return probabilities[:, -1], True
            return probabilities, True
        if self.problem == "binary" and array.dtype.kind == "f":
            return array.astype(np.float64), True  # a booster's positive-class probability
        codes = self.targets(array)  # the model returned classes
        if self.problem == "binary":
            return codes, False
        return np.eye(width)[codes.astype(np.int64)], False

    def check_scores(self, metric: str, probabilities: bool) -> None:
        """Refuse a metric that needs probabilities when the model returns classes."""
        if metric in PROBABILITY_METRICS and not probabilities:
            raise RegistryError(
                f"metric {metric!r} needs class probabilities, but the model returns classes: "
                "log the classifier with a signature of its probabilities "
                "(infer_signature(X, model.predict_proba(X))), or use a metric of classes "
                "(accuracy, f1, f1_macro, precision, recall)"
            )


def _order(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


def _distinct(labels: Any) -> list[Any] | None:
    if labels is None:
        return None
    values = labels.to_numpy() if hasattr(labels, "to_numpy") else np.asarray(list(labels))
    found = {_plain(v) for v in values if v is not None and v == v}
    return list(found)


def _classes_text(classes: list[Any] | None) -> str:
    return "" if not classes else f" with classes {classes}"


def _check_labels(
    model: str, problem: ProblemType, from_labels: ProblemType | None, distinct: list[Any] | None
) -> None:
    """Refuse labels that contradict the problem type."""
    if distinct is None:
        return
    where = f"model {model!r}"
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in distinct)
    if problem == "regression" and not numbers:
        raise RegistryError(f"{where} is a regression model, but its labels are categories")
    if problem != "regression" and from_labels == "regression":
        raise RegistryError(
            f"{where} is a {problem} model, but its labels are continuous numbers; declare "
            f"models.{model}.problem: regression if it predicts a value"
        )
    if problem == "binary" and len(distinct) > 2:
        raise RegistryError(
            f"{where} is binary, but its labels have {len(distinct)} distinct values; declare "
            "multiclass"
        )
