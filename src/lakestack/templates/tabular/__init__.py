"""The project `lakestack init --data FILE --label COLUMN` writes for a table of the user's.

`project_ml/` is the ML package (copied as `<project>_ml/`, with `settings.py` written from
the data), `files/` the rest of the project (rendered: `lakestack.yaml`, tests, README).
"""
