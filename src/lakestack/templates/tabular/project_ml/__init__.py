"""This project's ML code: ingest, features, training, validation, deployment, batch inference
and monitoring. Each task function takes the run's `TaskContext`; `lakestack.yaml` wires them
into jobs. What the project predicts from which columns is in `settings.py`."""
