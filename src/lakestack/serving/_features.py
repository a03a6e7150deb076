"""Features by key: a request carrying entity keys gets the model's features from the online
store, through the feature spec the model version was trained with.

A request that also carries the lookups' time column (their `timestamp_lookup_key`, e.g.
`sched_dep_ts`) is judged at each row's time: features older than that time minus the lookup's
`max_age` are missing, as in training (replayed history is judged at its own time, not now).
Times are ISO 8601 strings (`2013-07-01T06:00:00`, `2013-07-01 06:00:00`, with or without an
offset; naive times are UTC); numbers are refused, their unit (s, ms) being a guess.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lakestack.serving._payload import Rows, missing_columns
from lakestack.serving._schema import ServingInputError

if TYPE_CHECKING:
    from lakestack.config import Project
    from lakestack.features import FeatureLookup, FeatureSpec, FeatureStore
    from lakestack.serving._model import ServedModel

__all__ = ["FeatureFiller", "fill_features"]


class FeatureFiller:
    """Fills a request's missing feature columns from the environment's online store.

    Values the request carries take precedence; the spec's key and time columns that are not
    model inputs are dropped after the lookup.
    """

    def __init__(self, project: Project, environment: str, *, unknown_keys: str = "error") -> None:
        self.project = project
        self.environment = environment
        self.unknown_keys = unknown_keys
        self._store: FeatureStore | None = None
        self._specs: dict[int, FeatureSpec | None] = {}
        self._lock = threading.Lock()

    def store(self) -> FeatureStore:
        with self._lock:
            if self._store is None:
                from lakestack.features import FeatureStore

                self._store = FeatureStore(self.project, self.environment)
            return self._store

    def spec(self, served: ServedModel) -> FeatureSpec | None:
        key = id(served.loaded)
        if key not in self._specs:
            from lakestack.features import FeatureSpec

            text = served.loaded.feature_spec_json()
            self._specs[key] = None if text is None else FeatureSpec.from_json(text)
        return self._specs[key]

    def needs_lookup(self, served: ServedModel, rows: Rows) -> bool:
        """Whether `__call__` may do anything: False (without I/O) when the model's spec is
        known to be absent or the request carries every input, so the caller skips the
        thread hop; True when it must look (or the spec is not read yet)."""
        if served.schema is None or rows.columns is None or rows.columns == served.schema.names:
            return False
        spec = self._specs.get(id(served.loaded), False)
        if spec is None:
            return False
        given = set(rows.columns)
        return any(n not in given for n in served.schema.names)

    def __call__(self, served: ServedModel, rows: Rows) -> Rows:
        spec = self.spec(served)
        if spec is None or served.schema is None or rows.columns is None:
            return rows
        missing = [n for n in served.schema.names if n not in rows.columns]
        if not missing:
            return rows
        return fill_features(
            self.store(), spec, served.schema.names, rows, unknown_keys=self.unknown_keys
        )


def fill_features(
    store: Any, spec: FeatureSpec, inputs: list[str], rows: Rows, *, unknown_keys: str = "error"
) -> Rows:
    """Look the missing input columns of `rows` up by their keys (see `FeatureFiller`).

    With `unknown_keys="null"`, the features of an unknown (or stale) key are null, as a
    training set has them, instead of a 404.

    Raises:
        ServingInputError: a key column is missing or a time is not ISO 8601 (422), or a key
            is unknown or its features are older than the lookup's `max_age` (404).
    """
    assert rows.columns is not None
    given = rows.columns
    missing = [n for n in inputs if n not in given]
    features = set(spec.feature_columns)
    not_features = [n for n in missing if n not in features]
    if not_features:
        raise missing_columns(not_features, inputs)
    lacking = [k for k in spec.key_columns if k not in given]
    if lacking:
        raise ServingInputError(
            f"missing input column(s) {', '.join(map(repr, missing))}: send them, or the "
            f"entity key column(s) {', '.join(map(repr, spec.key_columns))} to look them up "
            f"(the request lacks {', '.join(map(repr, lacking))})",
            kind="missing_column",
        )
    positions = {name: i for i, name in enumerate(given)}
    keys = [{k: row[positions[k]] for k in spec.key_columns} for row in rows.rows]
    looked: dict[str, list[Any]] = {}
    for column, lookups in _by_clock(spec, given).items():
        at = None if column is None else _times(column, positions[column], rows)
        part = spec if len(lookups) == len(spec.lookups) else _sub_spec(spec, lookups)
        found = store.lookup(part, keys, at=at)
        looked.update(
            (name, found.column(name).to_pylist()) for name in missing if name in found.column_names
        )
    for lookup in spec.lookups:
        outputs = [lookup.output_name(f) for f in (lookup.feature_names or [])]
        outputs = [o for o in outputs if o in looked]
        if not outputs or unknown_keys == "null":
            continue
        assert isinstance(lookup.lookup_key, dict)
        for i in range(len(rows.rows)):
            if all(looked[o][i] is None for o in outputs):
                key = {label: keys[i][label] for label in lookup.lookup_key}
                shown = ", ".join(f"{k}={v!r}" for k, v in key.items())
                fresh = (
                    "" if lookup.max_age is None else f" (or only one older than {lookup.max_age})"
                )
                raise ServingInputError(
                    f"unknown key {shown} (row {i}): feature table {lookup.table} has no "
                    f"online row for it{fresh}",
                    status=404,
                    kind="unknown_key",
                )
    clocks = {lk.timestamp_lookup_key for lk in spec.lookups if lk.timestamp_lookup_key}
    consumed = {*spec.key_columns, *clocks}
    keep = [n for n in given if n in inputs or n not in consumed]  # extras: 422 later
    columns = keep + missing
    out = []
    for i, row in enumerate(rows.rows):
        out.append([row[positions[n]] for n in keep] + [looked[n][i] for n in missing])
    return Rows(columns, out, rows.params, rows.format, rows.extra)


def _by_clock(spec: FeatureSpec, given: list[str]) -> dict[str | None, list[FeatureLookup]]:
    """The spec's lookups by the request column holding their time (None: judged now); one
    group, one round trip, unless lookups with a `max_age` read different time columns."""
    groups: dict[str | None, list[FeatureLookup]] = {}
    timeless = []
    for lookup in spec.lookups:
        if lookup.max_age is None:
            timeless.append(lookup)  # its values are the same at any time
            continue
        column = lookup.timestamp_lookup_key if lookup.timestamp_lookup_key in given else None
        groups.setdefault(column, []).append(lookup)
    if timeless:
        groups.setdefault(next(iter(groups), None), []).extend(timeless)
    return groups


def _sub_spec(spec: FeatureSpec, lookups: list[FeatureLookup]) -> FeatureSpec:
    names = {lookup.output_name(f) for lookup in lookups for f in lookup.feature_names or []}
    return dataclasses.replace(
        spec,
        lookups=tuple(lookups),
        columns=tuple(c for c in spec.columns if c[0] in names),
    )


def _times(column: str, position: int, rows: Rows) -> list[datetime | None]:
    """The request's times in `column`, parsed (None: no time, judged now).

    Raises:
        ServingInputError: a value is not an ISO 8601 time (422, naming the column and row).
    """
    times: list[datetime | None] = []
    for i, row in enumerate(rows.rows):
        value = row[position]
        if value is None or isinstance(value, datetime):
            times.append(value)
            continue
        try:
            if not isinstance(value, str):
                raise ValueError
            times.append(datetime.fromisoformat(value.strip()))
        except ValueError:
            raise ServingInputError(
                f"column {column!r} (row {i}): {value!r} is not a time; send ISO 8601, e.g. "
                "2013-07-01T06:00:00 (UTC) or 2013-07-01T06:00:00-04:00",
                kind="value",
            ) from None
    return times
