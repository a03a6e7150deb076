"""`lakestack access list|whoami|grant|revoke|token create|revoke|list` and `lakestack audit list`.

In an environment with a `control_plane`, each command is sent to that server (with
`LAKESTACK_TOKEN`), which alone holds the environment's tokens, grants and audit log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from lakestack.cli._common import (
    JsonOption,
    LimitOption,
    ProjectOption,
    Scope,
    command_group,
    console,
    err_console,
    plain,
    print_json,
    scoped,
)

if TYPE_CHECKING:
    from lakestack.config import Project

__all__ = ["register"]

access_app = command_group("Who may do what: principals, roles per environment, grants and tokens.")
token_app = command_group("Bearer tokens: shown once, stored as hashes with an expiry.")
audit_app = command_group("The audit log (system.audit) of an environment.")

PrincipalArg = Annotated[str, typer.Argument(help="The principal's name.")]
RoleArg = Annotated[str, typer.Argument(help="reader, developer, deployer or admin.")]
ReasonOption = Annotated[str, typer.Option(help="Why, recorded with the change.")]


def _open(scope: Scope) -> tuple[Project, Any]:
    """The project, and the client of the environment's control plane (None without one)."""
    from lakestack.control_plane import remote_for

    proj = scope.project()
    return proj, remote_for(proj, scope.env)


def _when(value: Any) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M}"


@access_app.command("list")
@scoped(env=False)
def list_principals(scope: Scope) -> None:
    """List the principals with their role in each environment (file and grants)."""
    from lakestack.access import list_principals as principals

    proj = scope.project()
    views = [v.to_dict() for v in principals(proj)]
    if scope.json:
        print_json(views)
        return
    if not views:
        console.print("no principals: a single-user project (see docs/access.md)")
        return
    envs = list(proj.environments)
    view = Table(title="principals")
    for column in ("principal", "kind", *envs, "description"):
        view.add_column(column)
    for v in views:
        roles = [v["roles"].get(e, "") + (" (granted)" if e in v["granted"] else "") for e in envs]
        view.add_row(*(plain(cell) for cell in (v["name"], v["kind"], *roles, v["description"])))
    console.print(view)


@access_app.command()
@scoped()
def whoami(scope: Scope) -> None:
    """Show who you act as in an environment, how that is known, and your role there."""
    from lakestack.access import current_caller, role_of

    proj, remote = _open(scope)
    if remote is not None:
        data = remote.whoami()
    else:
        name = proj.environment(scope.env).name
        caller = current_caller(proj, name)
        data = {
            "principal": caller.principal,
            "environment": name,
            "role": role_of(proj, caller.principal, name),
            "verified": caller.verified,
            "token_id": caller.token_id,
        }
    if scope.json:
        print_json(data)
        return
    how = f"token lks_{data['token_id']}" if data["verified"] else "a claim (no token)"
    console.print(
        plain(
            f"{data['principal']} in {data['environment']}: role {data['role'] or 'none'}, "
            f"known by {how}"
        ),
        highlight=False,
    )


@access_app.command()
@scoped()
def grant(scope: Scope, principal: PrincipalArg, role: RoleArg, reason: ReasonOption = "") -> None:
    """Give a principal a role in an environment (admins only; audited)."""
    from lakestack.access import grant_role

    proj, remote = _open(scope)
    if remote is not None:
        data = remote.grant(principal, role, reason)
    else:
        data = grant_role(proj, principal, role, scope.env, reason).to_dict()  # type: ignore[arg-type]
    _print_principal(data, scope.json)


@access_app.command()
@scoped()
def revoke(scope: Scope, principal: PrincipalArg, reason: ReasonOption = "") -> None:
    """End a principal's granted role in an environment (its lakestack.yaml role stays)."""
    from lakestack.access import revoke_role

    proj, remote = _open(scope)
    data = (
        remote.revoke_grant(principal, reason)
        if remote is not None
        else revoke_role(proj, principal, scope.env, reason).to_dict()
    )
    _print_principal(data, scope.json)


def _print_principal(data: dict[str, Any], json: bool) -> None:
    if json:
        print_json(data)
        return
    roles = ", ".join(f"{e}: {r}" for e, r in data["roles"].items()) or "none"
    console.print(plain(f"{data['name']}: {roles}"), highlight=False)


@token_app.command("create")
def create_token(
    principal: PrincipalArg,
    project: ProjectOption = None,
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env", "-e", help="Where it works; repeat for several (default: the default env)."
        ),
    ] = None,
    days: Annotated[
        int | None, typer.Option(help="Days it works (default: access.token_days, 90).")
    ] = None,
    name: Annotated[str, typer.Option(help="What it is for (laptop, github-actions).")] = "",
    json: JsonOption = False,
) -> None:
    """Create a token; it is printed once and only its hash is kept."""
    from lakestack.access import create_token as create

    proj, remote = _open(Scope(project, env[0] if env else None))
    if remote is not None:
        data = remote.create_token(principal, env, days, name)
    else:
        data = create(proj, principal, env, days=days, name=name).to_dict()
    if json:
        print_json(data)
        return
    first = data["records"][0]
    envs = ", ".join(r["environment"] for r in data["records"])
    err_console.print(
        plain(
            f"token lks_{first['token_id']} of {principal} for {envs}, valid until "
            f"{first['expires_at'][:16]} UTC. It is shown once: store it now (LAKESTACK_TOKEN)."
        ),
        highlight=False,
    )
    print(data["token"])


@token_app.command("revoke")
@scoped()
def revoke_token(
    scope: Scope,
    token_id: Annotated[str, typer.Argument(help="The token's id (lks_<id>), or the token.")],
) -> None:
    """Revoke a token in an environment (its principal or an admin may)."""
    from lakestack.access import revoke_token as revoke

    proj, remote = _open(scope)
    data = (
        remote.revoke_token(token_id)
        if remote is not None
        else revoke(proj, token_id, scope.env).to_dict()
    )
    if scope.json:
        print_json(data)
        return
    console.print(plain(f"token lks_{data['token_id']} of {data['principal']}: {data['state']}"))


@token_app.command("list")
@scoped()
def list_tokens(scope: Scope) -> None:
    """List the tokens of an environment (yours; an admin sees all). Never the tokens."""
    from lakestack.access import list_tokens as tokens

    proj, remote = _open(scope)
    data = remote.tokens() if remote is not None else [t.to_dict() for t in tokens(proj, scope.env)]
    if scope.json:
        print_json(data)
        return
    view = Table(title="tokens")
    for column in ("id", "principal", "name", "state", "created", "by", "expires"):
        view.add_column(column)
    for t in data:
        cells = (
            f"lks_{t['token_id']}",
            t["principal"],
            t["name"],
            t["state"],
            t["created_at"][:16],
            t["created_by"],
            t["expires_at"][:16],
        )
        view.add_row(*(plain(cell) for cell in cells))
    console.print(view)


@audit_app.command("list")
@scoped()
def list_audit(
    scope: Scope,
    principal: Annotated[str | None, typer.Option(help="Only this principal's.")] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action or those under it (model.promote).")
    ] = None,
    outcome: Annotated[str | None, typer.Option(help="allowed or denied.")] = None,
    limit: LimitOption = 50,
) -> None:
    """List the audit records of an environment, newest first."""
    proj, remote = _open(scope)
    if remote is not None:
        data = remote.audit(principal=principal, action=action, outcome=outcome, limit=limit)
    else:
        data = audit_records(proj, scope.env, principal, action, outcome, limit)
    if scope.json:
        print_json(data)
        return
    view = Table(title="audit")
    for column in ("time (UTC)", "principal", "action", "object", "outcome", "reason"):
        view.add_column(column, overflow="fold")
    for r in data:
        style = "red" if r["outcome"] == "denied" else ""
        cells = (r["ts"][:19], r["principal"], r["action"], r["object"], r["outcome"], r["reason"])
        view.add_row(*(plain(cell) for cell in cells), style=style)
    console.print(view)


def audit_records(
    project: Project,
    env: str | None,
    principal: str | None,
    action: str | None,
    outcome: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The audit records as dicts, after checking that the caller may read them."""
    from lakestack.access import authorize, read_audit
    from lakestack.system_tables import AUDIT

    name = project.environment(env).name
    authorize(project, "audit.read", name, obj=AUDIT.name, audit=False)
    records = read_audit(
        project.environment(name), principal=principal, action=action, outcome=outcome, limit=limit
    )
    return [r.to_dict() for r in records]


def register(app: typer.Typer) -> None:
    access_app.add_typer(token_app, name="token")
    app.add_typer(access_app, name="access")
    app.add_typer(audit_app, name="audit")
