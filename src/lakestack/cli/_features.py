"""`lakestack features list|show|publish|check|lookup`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from lakestack.cli._common import Scope, TableArg, command_group, console, plain, print_json, scoped

if TYPE_CHECKING:
    from lakestack.features import FeatureStore

__all__ = ["register"]

features_app = command_group(
    "Feature tables, their online store, and checks of one against the other."
)


def _store(scope: Scope) -> FeatureStore:
    from lakestack.features import FeatureStore

    return FeatureStore(scope.project(), scope.env)


@features_app.command("list")
@scoped()
def list_features(scope: Scope) -> None:
    """List the feature tables with their keys, event time, features and version."""
    store = _store(scope)
    tables = store.list_feature_tables()
    if scope.json:
        print_json([t.to_dict() for t in tables])
        return
    view = Table(title=f"feature tables in {store.environment}")
    for column in ("table", "keys", "event time", "features", "version", "owner", "description"):
        view.add_column(column, justify="right" if column in ("features", "version") else "left")
    for t in tables:
        view.add_row(
            t.name,
            ", ".join(t.primary_keys),
            t.timestamp_key or "",
            str(len(t.features)),
            str(t.version),
            t.owner,
            t.description,
        )
    console.print(view)


@features_app.command()
@scoped()
def show(scope: Scope, name: TableArg) -> None:
    """Show a feature table: keys, event time, owner, tags, columns, and what is online."""
    from lakestack.errors import FeatureError

    with _store(scope) as store:
        table = store.get_feature_table(name)
        try:
            state = store.online.state(table.name)
            online: dict[str, Any] | None = (
                {
                    "version": state.version,
                    "keys": state.rows,
                    "published_at": state.published_at,
                    "as_of": None if state.as_of is None else state.as_of.isoformat(),
                }
                if state
                else None
            )
        except FeatureError as exc:
            online = {"error": str(exc)}
    if scope.json:
        print_json({**table.to_dict(), "online": online})
        return
    console.print(f"[bold]{table.name}[/] in {store.environment}, version {table.version}")
    if table.description:
        console.print(f"description: {table.description}")
    console.print(f"primary keys: {', '.join(table.primary_keys)}")
    console.print(f"event time: {table.timestamp_key or '(none: one row per key)'}")
    console.print(f"owner: {table.owner}")
    if table.tags:
        console.print("tags: " + ", ".join(f"{k}={v}" for k, v in sorted(table.tags.items())))
    if online is None:
        console.print("online: not published")
    elif "error" in online:
        console.print(plain(f"online: unavailable ({online['error']})"))
    else:
        moment = f" as of {online['as_of']}" if online["as_of"] else ""
        console.print(
            f"online: version {online['version']}{moment}, {online['keys']:,} keys, "
            f"published {online['published_at']}"
        )
    view = Table(title="columns")
    view.add_column("column")
    view.add_column("type")
    view.add_column("role")
    for field in table.schema or []:
        role = (
            "key"
            if field.name in table.primary_keys
            else ("event time" if field.name == table.timestamp_key else "feature")
        )
        view.add_row(field.name, str(field.type), role)
    console.print(view)


def _iso_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 time; write e.g. 2013-07-01T06:00:00 (UTC) or "
            "2013-07-01T06:00:00-04:00",
            param_hint="--as-of",
        ) from None


@features_app.command()
@scoped()
def publish(
    scope: Scope,
    name: TableArg,
    full: Annotated[bool, typer.Option("--full", help="Rewrite every key.")] = False,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            parser=_iso_time,
            metavar="TIME",
            help="Publish each key's latest row at or before this time (ISO 8601; naive: UTC), "
            "e.g. 2013-07-01T06:00:00, to replay history.",
        ),
    ] = None,
) -> None:
    """Publish the latest row per key to the environment's online store (changed keys only)."""
    from lakestack.control_plane import remote_for

    remote = remote_for(scope.project(), scope.env)
    if remote is not None:  # the environment's control plane publishes
        moment = None if as_of is None else as_of.isoformat()
        data = remote.publish(name, full=full, as_of=moment)
    else:
        with _store(scope) as store:
            data = store.publish(name, full=full, as_of=as_of).to_dict()
    if scope.json:
        print_json(data)
        return
    previous = data["previous_version"]
    since = "first publish" if previous is None else f"since version {previous}"
    moment = "" if data["as_of"] is None else f" as of {data['as_of']}"
    console.print(
        f"published {data['table']} version {data['version']}{moment} to {data['store']}: "
        f"{data['keys_written']:,} keys written, {data['keys_deleted']:,} deleted ({since}"
        f"{', full' if data['full'] else ''}); {data['keys_total']:,} keys online, "
        f"{data['seconds']:.2f} s"
    )


@features_app.command()
@scoped()
def check(
    scope: Scope,
    name: TableArg,
    sample: Annotated[int, typer.Option(help="How many keys to compare.")] = 1000,
    seed: Annotated[int, typer.Option(help="The sample's random seed.")] = 0,
) -> None:
    """Compare a sample of online values with the offline table; exit 1 on any mismatch."""
    with _store(scope) as store:
        result = store.check(name, sample=sample, seed=seed)
    if scope.json:
        print_json(result.to_dict())
    else:
        published = (
            "not published"
            if result.published_version is None
            else f"online version {result.published_version}"
        )
        console.print(
            f"{result.table}: offline version {result.offline_version}, {published}; "
            f"{result.sampled} keys sampled, {len(result.missing)} missing online, "
            f"{result.mismatched_keys} with different values"
        )
        if result.mismatches:
            view = Table(title="mismatches (first ones)")
            for column in ("key", "column", "offline", "online"):
                view.add_column(column, overflow="fold")
            for m in result.mismatches:
                view.add_row(str(m.key), m.column, repr(m.offline), repr(m.online))
            console.print(view)
        for key in result.missing[:10]:
            console.print(f"missing online: {key}")
        if not result.passed and result.published_version != result.offline_version:
            console.print(f"hint: run `lakestack features publish {result.table}`")
        if result.passed:
            console.print("[green]online and offline agree[/]")
    if not result.passed:
        raise typer.Exit(1)


@features_app.command()
@scoped()
def lookup(
    scope: Scope,
    name: TableArg,
    keys: Annotated[
        list[str],
        typer.Argument(help="Keys: values of a single-key table, or column=value pairs per row."),
    ],
) -> None:
    """Look keys up in the online store, e.g. `lookup features.planes N14228 N24211`."""
    rows: Any
    if all("=" in k for k in keys):
        row = dict(k.split("=", 1) for k in keys)
        rows = [row]
    else:
        rows = keys
    with _store(scope) as store:
        result = store.lookup(name, rows)
    records = result.to_pylist()
    if scope.json:
        print_json(records)
        return
    view = Table(title=f"{name}: online values")
    for column in result.column_names:
        view.add_column(column)
    for record in records:
        view.add_row(*("" if v is None else str(v) for v in record.values()))
    console.print(view)


def register(app: typer.Typer) -> None:
    app.add_typer(features_app, name="features")
