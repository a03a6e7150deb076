"""`lakestack init NAME --data FILE --label COLUMN`: a complete project on the user's own data.

The data is inspected (`_inspect.py`); the project is the `tabular` template of
`lakestack.templates` with its ML package copied as `<name>_ml/`, `settings.py` written from
the data, `lakestack.yaml`, tests and README rendered, a sample of the data kept for the tests,
and the CI workflows of `--ci`. The gates and alert rules are sized from the data: a model must
beat chance and the label's own statistics (the class shares, or the mean).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakestack import __version__
from lakestack.deploy._ci import CiSystem, ci_files, write_ci
from lakestack.deploy._inspect import DataProfile, inspect_data, is_table_name, read_data
from lakestack.deploy._render import render, write_text
from lakestack.errors import DeployError

if TYPE_CHECKING:
    import polars as pl

__all__ = ["InitResult", "init_project", "project_identifier", "resolve_source"]

SAMPLE_ROWS = 2000
HOLDOUT_PERCENT = 20
_SETTINGS = "settings.py"


@dataclass(frozen=True)
class InitResult:
    """A project `init_project` wrote.

    Attributes:
        folder: the project folder.
        package: the ML package's name (`<name>_ml`).
        profile: what the data inspection found.
        files: every file written, relative to the folder.
    """

    folder: Path
    package: str
    profile: DataProfile
    files: list[str] = field(default_factory=list)


def project_identifier(text: str) -> str:
    """`text` as a lower-case Python identifier (`Churn-2024` -> `churn_2024`)."""
    cleaned = re.sub(r"[^a-z0-9_]", "_", text.lower()).strip("_") or "project"
    return cleaned if cleaned[0].isalpha() else f"p_{cleaned}"


def resolve_source(data: str, project_root: Path | None) -> tuple[str, str | None]:
    """Where `--data` is: `(location for ingest, lake root to read a table from)`.

    A table name (`schema.table`) is read from the lake of the lakestack project in the
    current folder, and ingest reads the table's Delta folder; a file or folder becomes an
    absolute path.

    Raises:
        DeployError: a table name with no lakestack project here.
    """
    if is_table_name(data):
        if project_root is None:
            raise DeployError(
                f"--data {data} names a table, but there is no lakestack.yaml here to find its "
                "lake: run init in that project's folder, or give the table's Delta folder"
            )
        from lakestack.config import load_project
        from lakestack.lake import Lake

        lake = Lake.for_environment(load_project(project_root))
        return lake.path(data.split("@")[0]), lake.root
    if "://" in data:
        return data, None
    return str(Path(data).expanduser().resolve()), None


def init_project(
    dest: str | Path,
    *,
    data: str,
    label: str,
    problem: str | None = None,
    time_column: str | None = None,
    ci: CiSystem = "github",
    name: str | None = None,
    force: bool = False,
    sample_rows: int = SAMPLE_ROWS,
) -> InitResult:
    """Write a complete project for predicting `label` from the data at `data`.

    Args:
        dest: the project folder (created when missing).
        data: a CSV or Parquet file, a Delta table's folder or URI, or a table of the lake of
            the lakestack project in the current folder.
        label: the column to predict.
        problem: `binary`, `multiclass` or `regression` (default: from the label).
        time_column: the column ordering the rows (default: the only date or time column).
        ci: `github`, `gitlab` or `none`.
        name: the project's name (default: the folder's).
        force: overwrite an existing project's files.
        sample_rows: rows kept in `tests/data/sample.parquet` for the tests.

    Returns:
        What was written.

    Raises:
        DeployError: the data cannot be read or inspected, or the project exists.

    Example:
        >>> init_project("churn", data="customers.parquet", label="churned")  # doctest: +SKIP
    """
    folder = Path(dest).expanduser().resolve()
    if (folder / "lakestack.yaml").exists() and not force:
        raise DeployError(
            f"{folder / 'lakestack.yaml'} already exists; pass --force to overwrite the "
            "project's files, or --ci-only to add workflows to it"
        )
    here = Path.cwd() if (Path.cwd() / "lakestack.yaml").is_file() else None
    location, lake_root = resolve_source(data, here)
    frame = read_data(data, lake_root)
    profile = inspect_data(
        frame, source=data, label=label, problem=problem, time_column=time_column
    )
    ident = project_identifier(name or folder.name)
    package = f"{ident}_ml"
    files: list[str] = []

    def write(relative: str, text: str) -> None:
        write_text(folder / relative, text, force=True)
        files.append(relative)

    template = Path(str(resources.files("lakestack.templates") / "tabular"))
    for module in sorted((template / "project_ml").glob("*.py")):
        text = settings_module(profile, ident) if module.name == _SETTINGS else module.read_text()
        write(f"{package}/{module.name}", text)
    context = _context(profile, folder, ident, package, location, ci)
    for path in sorted((template / "files").rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(template / "files").as_posix()
        if relative.endswith(".jinja"):
            relative = relative.removesuffix(".jinja")
            text = render(path, context)
        else:
            text = path.read_text()
        write(".gitignore" if relative == "gitignore" else relative, text)
    sample = folder / "tests" / "data" / "sample.parquet"
    sample.parent.mkdir(parents=True, exist_ok=True)
    _sample(frame, profile, sample_rows).write_parquet(sample)
    files.append("tests/data/sample.parquet")
    jobs = ["ingest", "training", "deployment", "retraining", "batch_inference", "monitoring"]
    for path in write_ci(folder, ci, jobs=jobs, force=True):
        files.append(path.relative_to(folder).as_posix())
    return InitResult(folder, package, profile, files)


def _sample(frame: pl.DataFrame, profile: DataProfile, rows: int) -> pl.DataFrame:
    import polars as pl

    data = frame.filter(pl.col(profile.label).is_not_null())
    if data.height > rows:
        data = data.with_row_index("_row").sample(rows, seed=0).sort("_row").drop("_row")
    return data


def settings_module(profile: DataProfile, ident: str) -> str:
    """The text of `settings.py` for the inspected data."""
    types = {c.name: c.type for c in profile.columns if c.role != "ignored"}
    lines = [
        '"""What this project predicts, from which columns: `lakestack init` wrote this file from',
        f"{_source_name(profile.source)} ({profile.rows} rows).",
        "Edit it freely: the rest of the package reads these names.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Literal",
        "",
        f"MODEL = {_py(ident)}",
        '"""The registered model (and its endpoint and monitor)."""',
        f'PROBLEM: Literal["binary", "multiclass", "regression"] = {_py(profile.problem)}',
        f"LABEL = {_py(profile.label)}",
        f"TIME_COLUMN: str | None = {_py(profile.time_column)}",
        '"""Orders the rows: the holdout is the latest part; None splits at random."""',
        f"ID_COLUMNS: list[str] = {_list(profile.named('id'))}",
        '"""Identify a row: the key late labels join on (empty: no labels for the monitor)."""',
        f"NUMERIC_FEATURES: list[str] = {_list(profile.named('numeric'))}",
        f"CATEGORICAL_FEATURES: list[str] = {_list(profile.named('categorical'))}",
        "SOURCE_COLUMNS: dict[str, str] = {",
        *(f"    {_py(name)}: {_py(kind)}," for name, kind in types.items()),
        "}",
        '"""Every column kept from the source, with the type ingest gives it."""',
        "",
        f'RAW_TABLE = "bronze.{ident}"',
        f'CLEAN_TABLE = "silver.{ident}"',
        f'LABELS_TABLE = "labels.{ident}"',
        f'TRAINING_TABLE = "gold.{ident}_training"',
        f'PREDICTIONS_TABLE = "gold.{ident}_predictions"',
        "",
    ]
    return "\n".join(lines)


def _py(value: str | None) -> str:
    """A string (or None) as Python source, double-quoted as formatters write it."""
    return "None" if value is None else json.dumps(value, ensure_ascii=False)


def _list(names: list[str]) -> str:
    if not names:
        return "[]"
    if sum(len(n) + 4 for n in names) < 60:
        return "[" + ", ".join(_py(n) for n in names) + "]"
    return "[\n" + "".join(f"    {_py(n)},\n" for n in names) + "]"


def _source_name(source: str) -> str:
    return Path(source).name if "/" in source or "\\" in source else source


def _ceil(value: float, digits: int = 3) -> float:
    scale = 10**digits
    return float(math.ceil(value * scale) / scale)


def _gates(profile: DataProfile) -> dict[str, Any]:
    if profile.problem == "regression":
        std = profile.label_std or 0.0
        bound = float(f"{std:.4g}")
        return {
            "thresholds": [f"rmse <= {bound:g}"],
            "threshold_why": f"Better than always predicting the mean (its RMSE is the label's "
            f"standard deviation, {bound:g}).",
            "regression_metric": "rmse",
            "regression_margin": float(f"{0.01 * std:.3g}"),
            "quality_rule": f"quality.rmse > {bound:g}",
            "quality_why": "Worse than predicting the mean for most of a week: retrain.",
        }
    prior = _ceil(profile.prior_log_loss)
    if profile.problem == "binary":
        return {
            "thresholds": ["roc_auc >= 0.55", f"log_loss <= {prior:g}"],
            "threshold_why": "Better than chance (ROC AUC 0.5) and than always predicting the "
            f"class shares (log loss {prior:g}).",
            "regression_metric": "roc_auc",
            "regression_margin": 0.01,
            "quality_rule": "quality.roc_auc < 0.55",
            "quality_why": "Close to chance for most of a week: retrain.",
        }
    return {
        "thresholds": [f"log_loss <= {prior:g}", "roc_auc_ovr >= 0.55"],
        "threshold_why": "Better than always predicting the class shares (log loss "
        f"{prior:g}) and than chance (one-vs-rest ROC AUC 0.5).",
        "regression_metric": "log_loss",
        "regression_margin": 0.01,
        "quality_rule": f"quality.log_loss > {prior:g}",
        "quality_why": "No better than the class shares for most of a week: retrain.",
    }


def _context(
    profile: DataProfile, folder: Path, ident: str, package: str, location: str, ci: CiSystem
) -> dict[str, Any]:
    source = location
    ignored: list[str] = []
    if "://" not in location and Path(location).is_relative_to(folder):
        relative = Path(location).relative_to(folder)
        source = relative.as_posix()
        ignored.append(relative.parts[0] + ("/" if len(relative.parts) > 1 else ""))
    ids = profile.named("id")
    types = {c.name: c.type for c in profile.columns}
    context_columns = {c: ("int64" if types[c] == "int64" else "string") for c in ids}
    if profile.time_column:
        context_columns[profile.time_column] = "timestamp"
    why = []
    if ids:
        why.append(f"{', '.join(ids)}: the key late labels join on")
    if profile.time_column:
        why.append(f"{profile.time_column}: the time the monitor's windows cut on")
    return {
        "name": ident,
        "package": package,
        "model": ident,
        "label": profile.label,
        "problem": profile.problem,
        "rows": profile.rows,
        "columns": profile.columns,
        "categorical": bool(profile.named("categorical")),
        "time_column": profile.time_column,
        "source": source,
        "source_name": _source_name(profile.source),
        "ignored": ignored,
        "raw_table": f"bronze.{ident}",
        "clean_table": f"silver.{ident}",
        "labels_table": f"labels.{ident}",
        "predictions_table": f"gold.{ident}_predictions",
        "holdout_percent": HOLDOUT_PERCENT,
        "context_columns": context_columns,
        "context_why": why,
        "monitor_time": profile.time_column or "ts",
        "labels_keys": ids,
        "lakestack_version": __version__,
        "ci_files": list(ci_files(ci).items()),
        **_gates(profile),
    }
