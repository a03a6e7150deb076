"""Feature lookups and the feature spec a model carries (JSON, so serving can read it)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from lakestack.errors import FeatureError
from lakestack.lake import TableRef

__all__ = ["FeatureLookup", "FeatureSpec"]

_SPEC_FORMAT = 1


@dataclass(frozen=True)
class FeatureLookup:
    """How to join one feature table to labels.

    Attributes:
        table: the feature table, `schema.table`, optionally pinned (`features.weather@7`).
        lookup_key: the label column(s) holding the table's primary keys: one name, a list in the
            order of the table's primary keys, or a mapping `label column -> key column`.
        feature_names: the features to take (all of them by default).
        rename: output names, `feature -> name in the training set`.
        timestamp_lookup_key: the label column with each label's time; required when the table
            has an event time (each label gets the latest feature row at or before it).
        max_age: ignore feature rows older than this at the label's time (None: any age).

    Example:
        >>> FeatureLookup("features.weather", lookup_key={"origin": "origin"},
        ...               timestamp_lookup_key="sched_dep_ts", max_age=timedelta(hours=2))
        ... # doctest: +SKIP
    """

    table: str
    lookup_key: str | Sequence[str] | Mapping[str, str]
    feature_names: Sequence[str] | None = None
    rename: Mapping[str, str] = field(default_factory=dict)
    timestamp_lookup_key: str | None = None
    max_age: timedelta | None = None

    @property
    def ref(self) -> TableRef:
        """The table reference (name and optional version pin)."""
        return TableRef.parse(self.table)

    def key_map(self, primary_keys: Sequence[str]) -> dict[str, str]:
        """`label column -> feature key column`, checked against the table's primary keys.

        Raises:
            FeatureError: the lookup does not give exactly the table's primary keys.
        """
        name = str(self.ref.name)
        if isinstance(self.lookup_key, Mapping):
            mapping = {str(k): str(v) for k, v in self.lookup_key.items()}
        else:
            labels = [self.lookup_key] if isinstance(self.lookup_key, str) else [*self.lookup_key]
            if len(labels) != len(primary_keys):
                raise FeatureError(
                    f"lookup of {name}: lookup_key {labels} has {len(labels)} column(s) but the "
                    f"table's primary keys are {list(primary_keys)}; give one label column per "
                    "key, in that order, or a mapping {label column: key column}"
                )
            mapping = dict(zip(labels, primary_keys, strict=True))
        unknown = [v for v in mapping.values() if v not in primary_keys]
        missing = [k for k in primary_keys if k not in mapping.values()]
        if unknown or missing:
            raise FeatureError(
                f"lookup of {name}: lookup_key {mapping} does not match the table's primary keys "
                f"{list(primary_keys)}"
                + (f"; not keys: {unknown}" if unknown else "")
                + (f"; missing: {missing}" if missing else "")
                + ". Map a label column to each primary key"
            )
        by_key = {v: k for k, v in mapping.items()}
        return {by_key[key]: key for key in primary_keys}  # in the table's key order

    def output_name(self, feature: str) -> str:
        """The feature's column name in the training set."""
        return self.rename.get(feature, feature)

    def to_dict(self) -> dict[str, Any]:
        key = self.lookup_key
        return {
            "table": self.table,
            "lookup_key": dict(key)
            if isinstance(key, Mapping)
            else (key if isinstance(key, str) else list(key)),
            "feature_names": None if self.feature_names is None else list(self.feature_names),
            "rename": dict(self.rename),
            "timestamp_lookup_key": self.timestamp_lookup_key,
            "max_age_seconds": None if self.max_age is None else self.max_age.total_seconds(),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> FeatureLookup:
        max_age = doc.get("max_age_seconds")
        return cls(
            table=doc["table"],
            lookup_key=doc["lookup_key"],
            feature_names=doc.get("feature_names"),
            rename=dict(doc.get("rename") or {}),
            timestamp_lookup_key=doc.get("timestamp_lookup_key"),
            max_age=None if max_age is None else timedelta(seconds=max_age),
        )


@dataclass(frozen=True)
class FeatureSpec:
    """The lookups of a training set, resolved, with the versions of the tables read.

    A model carries its spec (`to_json`) so that serving looks its features up by key in the
    online store (`FeatureStore.lookup(spec, keys)`): a client may send only the keys.

    Attributes:
        lookups: the lookups, resolved: table names without pins, `lookup_key` as a mapping
            `label column -> key column`, and `feature_names` explicit.
        table_versions: the Delta version of each feature table read.
        columns: `(output name, Arrow type)` of every feature column, in order.
    """

    lookups: tuple[FeatureLookup, ...]
    table_versions: dict[str, int]
    columns: tuple[tuple[str, str], ...] = ()

    @property
    def feature_columns(self) -> list[str]:
        """The output feature columns, in order."""
        return [name for name, _ in self.columns]

    @property
    def key_columns(self) -> list[str]:
        """The label columns a request must carry to look every feature up."""
        seen: dict[str, None] = {}
        for lookup in self.lookups:
            assert isinstance(lookup.lookup_key, Mapping)
            seen.update(dict.fromkeys(lookup.lookup_key))
        return list(seen)

    def pinned_lookups(self) -> list[FeatureLookup]:
        """The lookups pinned to the versions read, to rebuild the same training set."""
        return [
            FeatureLookup(
                table=f"{lookup.table}@{self.table_versions[lookup.table]}",
                lookup_key=lookup.lookup_key,
                feature_names=lookup.feature_names,
                rename=lookup.rename,
                timestamp_lookup_key=lookup.timestamp_lookup_key,
                max_age=lookup.max_age,
            )
            for lookup in self.lookups
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _SPEC_FORMAT,
            "lookups": [lookup.to_dict() for lookup in self.lookups],
            "table_versions": dict(self.table_versions),
            "columns": [{"name": n, "type": t} for n, t in self.columns],
        }

    def to_json(self) -> str:
        """The spec as JSON (what a model version stores)."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> FeatureSpec:
        if doc.get("format") != _SPEC_FORMAT:
            raise FeatureError(
                f"feature spec format {doc.get('format')!r} is not supported (expected "
                f"{_SPEC_FORMAT}); rebuild the training set with this lakestack version"
            )
        return cls(
            lookups=tuple(FeatureLookup.from_dict(x) for x in doc["lookups"]),
            table_versions={str(k): int(v) for k, v in doc["table_versions"].items()},
            columns=tuple((c["name"], c["type"]) for c in doc.get("columns", [])),
        )

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        """Read a spec written by `to_json`.

        Raises:
            FeatureError: the text is not a feature spec.
        """
        try:
            doc = json.loads(text)
            return cls.from_dict(doc)
        except (ValueError, KeyError, TypeError) as exc:
            raise FeatureError(f"not a feature spec: {exc}") from exc
