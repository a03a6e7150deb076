"""`FeatureStore`: the feature tables of an environment's lake and its online store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lakestack.errors import FeatureError
from lakestack.features import _lookup, _publish, _tables, _training_set
from lakestack.features._online._base import OnlineStore, PublishState, open_online_store
from lakestack.features._spec import FeatureLookup, FeatureSpec
from lakestack.features._tables import FeatureTable
from lakestack.features._training_set import TrainingSet
from lakestack.lake import Lake

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from lakestack.config import Project

__all__ = ["FeatureStore"]


class FeatureStore:
    """Feature tables in one environment's lake, training sets, and its online store.

    Example:
        >>> store = FeatureStore(load_project("."), "dev")  # doctest: +SKIP
        >>> store.create_feature_table("features.weather", data=weather,
        ...     primary_keys=["origin"], timestamp_key="time_hour")  # doctest: +SKIP
        >>> ts = store.build_training_set(labels, [FeatureLookup("features.weather",
        ...     lookup_key="origin", timestamp_lookup_key="sched_dep_ts")])  # doctest: +SKIP
        >>> store.publish("features.weather").keys_written  # doctest: +SKIP
        3
        >>> store.lookup(ts.spec, {"origin": ["JFK"]}).to_pylist()  # doctest: +SKIP
    """

    def __init__(
        self,
        source: Project | Lake,
        env: str | None = None,
        *,
        online_store: str | None = None,
    ) -> None:
        """Open the feature store of a project's environment, or of a lake.

        Args:
            source: a project (its environment `env` gives the lake and the online store), or
                a `Lake` (then pass `online_store` to publish and look up).
            env: the environment (default: `LAKESTACK_ENV`, then the project file's default).
            online_store: the online store URI, overriding the environment's.
        """
        self._project: Project | None = None
        if isinstance(source, Lake):
            self.lake = source
            self.online_uri = online_store
            self._namespace = source.environment
        else:
            self._project = source
            environment = source.environment(env)
            self.lake = Lake.for_environment(source, environment.name)
            self.online_uri = online_store or environment.online_store
            self._namespace = f"{source.name}:{environment.name}"
        self._online: OnlineStore | None = None

    @property
    def environment(self) -> str:
        return self.lake.environment

    @property
    def online(self) -> OnlineStore:
        """The online store (opened on first use).

        Raises:
            FeatureError: no online store URI is known.
        """
        if self._online is None:
            if not self.online_uri:
                raise FeatureError(
                    "this feature store has no online store: open it from a project, or pass "
                    "online_store='sqlite:///path/online.db' (or redis://host:6379/0)"
                )
            self._online = open_online_store(self.online_uri, self._namespace)
        return self._online

    def close(self) -> None:
        """Close the online store connection."""
        if self._online is not None:
            self._online.close()
            self._online = None

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- feature tables ---------------------------------------------------------------------

    create_feature_table = _tables.create_feature_table  # its signature and docstring are there

    def write(self, name: str, data: Any, *, mode: str = "merge") -> int:
        """Write rows: `merge` upserts by keys and event time; `overwrite` replaces all rows.

        Returns:
            The Delta version written.
        """
        return _tables.write_features(self.lake, name, data, mode=mode)

    def update_feature_table(
        self,
        name: str,
        *,
        description: str | None = None,
        owner: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> FeatureTable:
        """Change a feature table's description, owner or tags."""
        return _tables.update_feature_table(
            self.lake, name, description=description, owner=owner, tags=tags
        )

    def get_feature_table(self, name: str) -> FeatureTable:
        """A feature table's keys, event time, metadata, version and schema."""
        return _tables.get_feature_table(self.lake, name)

    def list_feature_tables(self) -> list[FeatureTable]:
        """Every feature table of the lake, sorted by name."""
        return _tables.list_feature_tables(self.lake)

    def read(self, name: str, *, version: int | None = None) -> pl.DataFrame:
        """A feature table's rows (`schema.table` or `schema.table@version`)."""
        return self.lake.read_polars(name, version=version)

    # -- training sets ----------------------------------------------------------------------

    def build_training_set(
        self,
        labels: Any,
        lookups: Sequence[FeatureLookup],
        *,
        engine: str | None = None,
        partitions: int | None = None,
    ) -> TrainingSet:
        """Join labels to features point in time.

        For each label row at time t, each lookup takes the latest feature row with the same
        keys and event time <= t (and >= t - max_age), never a later one; tables without an
        event time join on their keys. Labels without a match get nulls.

        Args:
            labels: the labels (Arrow, Polars, pandas), with the lookups' key and time columns.
            lookups: one `FeatureLookup` per feature table.
            engine: `ray` or `ray://host:port` to join `partitions` key ranges in Ray tasks
                (for tables larger than one machine is comfortable with); the same result.
            partitions: the number of key ranges (by the first lookup's first key): on Ray, 8
                when not given; locally, the ranges are joined one after another, each reading
                only its range of the table (bounded memory), instead of all at once.

        Returns:
            The labels (same rows, same order) with the feature columns, and the spec.

        Raises:
            FeatureError: empty labels; a lookup key or time column missing from the labels or
                of a type that cannot match the table's; a feature name clashing with a column.
        """
        if engine is not None and engine != "local":
            from lakestack.features._partitioned import build_training_set_on_ray

            return build_training_set_on_ray(
                self.lake,
                labels,
                lookups,
                partitions=8 if partitions is None else partitions,
                address=engine,
            )
        if partitions is not None:
            from lakestack.features._partitioned import build_training_set_in_ranges

            return build_training_set_in_ranges(self.lake, labels, lookups, partitions=partitions)
        return _training_set.build_training_set(self.lake, labels, lookups)

    # -- online store -----------------------------------------------------------------------

    def publish(
        self, name: str, *, full: bool = False, as_of: datetime | None = None
    ) -> _publish.PublishResult:
        """Write the latest row of each key to the online store.

        Only keys whose latest row changed since the last publish are written (and keys that
        disappeared deleted); `full` rewrites everything.

        Args:
            name: the feature table.
            full: rewrite every key.
            as_of: publish each key's latest row with an event time at or before this moment
                (naive: UTC), to replay history. The next publish at a later moment (same
                table version) writes only the keys with rows in between; any other publish
                after it (no `as_of`, an earlier moment, a new version) replaces the table.

        Raises:
            FeatureError: `as_of` for a table without an event time (`timestamp_key`).

        Example:
            >>> store.publish("features.weather", as_of=datetime(2013, 7, 1, 6))  # doctest: +SKIP
        """
        if self._project is not None:
            from lakestack.access import authorize_writer

            authorize_writer(self._project, "feature.publish", self.lake, name)
        return _publish.publish_table(self.lake, self.online, name, full=full, as_of=as_of)

    def lookup(
        self,
        target: FeatureSpec | str,
        keys: Any,
        *,
        at: _lookup.RequestTimes | None = None,
    ) -> pa.Table:
        """Look features up in the online store, many keys in one round trip.

        Args:
            target: a feature table name (returns its stored columns), or a `FeatureSpec`
                (returns the spec's key columns and its features, renamed as in training).
            keys: the keys: a list of dicts, a column mapping, an Arrow/Polars table, or a list
                of values for a single-key table.
            at: for a spec's lookups with a `max_age`, the request's time (default: now), or
                one time per key (a list of datetimes, or an Arrow array, NumPy array or
                Polars series of timestamps; a null is now). Values older than that row's
                `at - max_age` come back null, as in training. Naive times are UTC.

        Returns:
            One row per requested key, in order; features of unknown keys are null.

        Raises:
            FeatureError: a key column is missing or of the wrong type, a table is not
                published, or `at` is not one time (or one time per key).
        """
        return _lookup.lookup_online(self.online, target, keys, at=at)

    def check(self, name: str, *, sample: int = 1000, seed: int = 0) -> _publish.CheckResult:
        """Compare a sample of keys online with the offline table's latest rows."""
        return _publish.check_online(self.lake, self.online, name, sample=sample, seed=seed)

    def published(self) -> list[PublishState]:
        """What the online store holds, table by table."""
        states = [self.online.state(name) for name in self.online.tables()]
        return [s for s in states if s is not None]
