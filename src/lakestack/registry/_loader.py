"""The model loader serving uses: a registry URI in, a loaded model with its lineage out."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakestack.errors import RegistryError

__all__ = ["LINEAGE_DIR", "LoadedModel", "load_model", "raw_output"]

# The folder, inside the MLflow model, holding lakestack's files (feature spec, data schema, ...)
LINEAGE_DIR = "lakestack"


@dataclass
class LoadedModel:
    """A model loaded through MLflow's pyfunc, with the files lakestack stored beside it.

    Attributes:
        uri: the URI it was loaded from.
        path: the local folder of the MLflow model.
        name: the registered model's name (None for a path or run URI).
        version: the registered version (None for a path or run URI).
        pyfunc: the `mlflow.pyfunc.PyFuncModel`.
    """

    uri: str
    path: Path
    name: str | None
    version: int | None
    pyfunc: Any
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def signature(self) -> Any:
        """The MLflow `ModelSignature` (None when the model has none)."""
        return self.pyfunc.metadata.signature

    @property
    def input_columns(self) -> list[str] | None:
        """The input column names of the signature, when it names its columns."""
        signature = self.signature
        if signature is None or signature.inputs is None or not signature.inputs.has_input_names():
            return None
        return list(signature.inputs.input_names())

    @property
    def raw(self) -> Any:
        """The flavor's own model object (a LightGBM Booster, a scikit-learn estimator, ...)."""
        return self.pyfunc.get_raw_model()

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Score with the pyfunc (MLflow enforces the signature's input schema)."""
        return self.pyfunc.predict(data, params=params)

    def input_example(self) -> Any:
        """The input example stored with the model (None when there is none)."""
        if "input_example" not in self._cache:
            from mlflow.models import Model

            meta = Model.load(str(self.path / "MLmodel"))
            self._cache["input_example"] = meta.load_input_example(str(self.path))
        return self._cache["input_example"]

    def _text(self, name: str) -> str | None:
        file = self.path / LINEAGE_DIR / name
        return file.read_text(encoding="utf-8") if file.is_file() else None

    def feature_spec_json(self) -> str | None:
        """The feature spec JSON the model was trained with (`FeatureSpec.from_json` reads it)."""
        return self._text("feature_spec.json")

    def data_schema_json(self) -> str | None:
        """The data schema and statistics baseline (`validation.Schema.from_json` reads it)."""
        return self._text("data_schema.json")

    def lineage(self) -> dict[str, Any]:
        """Training tables, code version, run ids, holdout, metrics: what `log_model` recorded."""
        text = self._text("lineage.json")
        return {} if text is None else dict(json.loads(text))


def load_model(
    uri: str | Path,
    *,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
) -> LoadedModel:
    """Load a model the way serving does.

    Args:
        uri: `models:/<name>/<version>`, `models:/<name>@<alias>`, `runs:/<run>/<path>`, or a
            local folder holding an MLflow model.
        tracking_uri: the MLflow tracking URI of the environment (`Environment.tracking_uri`);
            default `MLFLOW_TRACKING_URI`. Needed for `models:/` and `runs:/` URIs.
        registry_uri: the registry URI, when it differs from the tracking URI.

    Returns:
        The loaded model with its signature, input example and lineage files.

    Raises:
        RegistryError: the model, version or alias does not exist, or cannot be loaded.

    Example:
        >>> model = load_model("models:/flights_delay@production",
        ...                    tracking_uri=project.environment("prod").tracking_uri)
        ... # doctest: +SKIP
        >>> model.predict(frame)  # doctest: +SKIP
    """
    text = str(uri)
    name: str | None = None
    version: int | None = None
    tracking = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if text.startswith(("models:/", "runs:/")):
        if not tracking:
            raise RegistryError(
                f"loading {text} needs the environment's tracking URI: pass tracking_uri= "
                "(Environment.tracking_uri) or set MLFLOW_TRACKING_URI"
            )
        if text.startswith("models:/"):
            name, version, artifact_uri = _resolve_registered(text, tracking, registry_uri)
        else:
            artifact_uri = text
        from mlflow.artifacts import download_artifacts

        try:
            local = Path(download_artifacts(artifact_uri=artifact_uri, tracking_uri=tracking))
        except Exception as exc:
            raise RegistryError(f"cannot download the artifacts of {text}: {exc}") from exc
    else:
        local = Path(text.removeprefix("file://")).expanduser()
        if not (local / "MLmodel").is_file():
            raise RegistryError(f"{local} is not an MLflow model folder (it has no MLmodel file)")
    import mlflow.pyfunc

    try:
        pyfunc = mlflow.pyfunc.load_model(str(local))
    except Exception as exc:
        raise RegistryError(f"cannot load the model {text}: {exc}") from exc
    return LoadedModel(uri=text, path=local, name=name, version=version, pyfunc=pyfunc)


def _resolve_registered(
    uri: str, tracking_uri: str, registry_uri: str | None
) -> tuple[str, int, str]:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    rest = uri.removeprefix("models:/")
    if "@" in rest:
        name, alias = rest.split("@", 1)
        ref: str | int = alias
    elif "/" in rest:
        name, tail = rest.split("/", 1)
        ref = int(tail) if tail.isdigit() else tail
    else:
        raise RegistryError(
            f"{uri} names no version: write models:/<name>/<version> or models:/<name>@<alias>"
        )
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri or tracking_uri)
    try:
        if isinstance(ref, int):
            mv = client.get_model_version(name, str(ref))
        else:
            mv = client.get_model_version_by_alias(name, ref)
        download = client.get_model_version_download_uri(name, mv.version)
    except MlflowException as exc:
        what = f"version {ref}" if isinstance(ref, int) else f"alias {ref!r}"
        raise RegistryError(
            f"model {name!r} has no {what} in the registry: {exc.message}. "
            "See `lakestack models versions` for its versions and aliases."
        ) from exc
    return name, int(mv.version), str(download)


def raw_output(model: LoadedModel, data: Any) -> Any:
    """Predict on a Polars/Arrow/pandas frame: the model's output as it returns it.

    Only the signature's input columns are passed.

    Raises:
        RegistryError: the frame lacks an input column of the signature.
    """
    frame = _to_pandas(data)
    columns = model.input_columns
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise RegistryError(
                f"the holdout lacks the model's input column(s) {', '.join(missing)}; "
                f"it has: {', '.join(map(str, frame.columns))}"
            )
        frame = frame[columns]
    return model.predict(frame)


def _to_pandas(data: Any) -> Any:
    module = type(data).__module__
    if module.startswith("pandas"):
        return data
    if module.startswith("polars"):
        return data.to_pandas()
    if hasattr(data, "to_pandas"):  # pyarrow
        return data.to_pandas()
    import pandas as pd

    return pd.DataFrame(data)
