"""Batch scoring on Ray: the predictions run in Ray actors, each holding the model once.

The connection is the pipelines' Ray engine's (`engine: ray` starts or joins a local Ray,
`engine: ray://host:port` connects through Ray Client), so batch scoring and jobs reach the
same cluster the same way. The driver reads the batches, sends each actor the model's input
columns, and writes the predictions in batch order, so the output is the same as on the local
engine. The model travels once through Ray's object store: the NumPy predict function for
LightGBM and scikit-learn (a pickled booster or estimator), else the model's folder, which the
actors load with MLflow (it must then be at the same path for them, as the project is for
the pipelines' Ray tasks). Ray is imported only here (`pip install 'lakestack[ray]'`).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from lakestack.errors import PipelineError, ServingError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from lakestack.serving._scoring import BatchPredictor

__all__ = ["RayPredictors"]


class _ScoringActor:
    """A Ray actor: the model, loaded once, predicting batch after batch."""

    def __init__(self, predictor: BatchPredictor) -> None:
        self._predictor = predictor

    def predict(self, batch: pa.RecordBatch) -> np.ndarray:
        return self._predictor(batch)


class RayPredictors:
    """One Ray actor per CPU of the cluster (or `workers`), fed in order through a pool.

    Args:
        spec: `ray` or `ray://host:port`.
        predictor: what each actor runs on a batch.
        workers: how many actors (default, and at most: the cluster's CPUs).

    Raises:
        ServingError: Ray is not installed.
    """

    def __init__(self, spec: str, predictor: BatchPredictor, workers: int | None = None) -> None:
        from lakestack.pipelines import create_engine

        try:
            self._engine = create_engine(spec)
        except PipelineError as exc:
            raise ServingError(str(exc)) from None
        self._engine.start(1)  # connects, or joins the Ray this process already runs
        import ray
        from ray.util import ActorPool

        self._ray: Any = ray
        self._names = predictor.names
        # each actor reserves a CPU: more than the cluster has would never start
        self.workers = max(1, min(workers or self._engine.capacity, self._engine.capacity))
        model = ray.put(predictor)
        actor = ray.remote(num_cpus=1, max_restarts=0)(_ScoringActor)
        self._actors = [actor.remote(model) for _ in range(self.workers)]
        self._pool: Any = ActorPool(self._actors)

    def submit(self, batch: pa.RecordBatch) -> None:
        if self._names is not None:
            batch = batch.select(self._names)  # only the model's columns travel
        self._pool.submit(lambda actor, value: actor.predict.remote(value), batch)

    def next(self) -> np.ndarray:
        result: np.ndarray = self._pool.get_next()
        return result

    def close(self) -> None:
        for actor in self._actors:
            with contextlib.suppress(Exception):
                self._ray.kill(actor)
        self._actors = []
        self._engine.close()
