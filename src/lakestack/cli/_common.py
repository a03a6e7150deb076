"""What every command shares: the console, options, project loading and error rendering."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from lakestack.config import Project
    from lakestack.lake import Lake

__all__ = [
    "EngineOption",
    "EnvOption",
    "HostOption",
    "JsonOption",
    "LimitOption",
    "LogLevelOption",
    "ProjectOption",
    "RunIdArg",
    "Scope",
    "TableArg",
    "TableVersionArg",
    "command_group",
    "console",
    "err_console",
    "open_environment",
    "open_lake",
    "open_project",
    "plain",
    "print_error",
    "print_json",
    "scoped",
]

console = Console()
err_console = Console(stderr=True)

ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-p",
        help="The project folder (default: LAKESTACK_PROJECT or the current folder).",
        show_default=False,
    ),
]
EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        help="The environment (default: LAKESTACK_ENV or the file's).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
TableArg = Annotated[str, typer.Argument(help="schema.table")]
TableVersionArg = Annotated[
    str, typer.Argument(help="schema.table, or schema.table@version to time travel")
]
RunIdArg = Annotated[str, typer.Argument(help="The run's id (or a unique prefix).")]
LimitOption = Annotated[int, typer.Option("--limit", "-n", help="At most this many.")]
EngineOption = Annotated[
    str | None,
    typer.Option(help="local, ray or ray://host:port (default: the environment's engine)."),
]
HostOption = Annotated[str, typer.Option(help="The address to listen on.")]
LogLevelOption = Annotated[str, typer.Option(help="uvicorn's log level.")]


def command_group(help: str) -> typer.Typer:
    """A group of subcommands (`lakestack tables ...`), which shows its help when run bare."""
    return typer.Typer(help=help, no_args_is_help=True)


def open_project(project: Path | None) -> Project:
    """Load the project from `--project` or the current folder."""
    from lakestack.config import load_project

    return load_project(project)


def open_environment(project: Path | None, env: str | None) -> tuple[Project, str]:
    """The project, and the name of the environment `--env` names (or the default one)."""
    proj = open_project(project)
    return proj, proj.environment(env).name


def open_lake(project: Path | None, env: str | None) -> Lake:
    """The lake of an environment of the project."""
    from lakestack.lake import Lake

    return Lake.for_environment(open_project(project), env)


@dataclass(frozen=True)
class Scope:
    """Where a command works and how it answers: its `--project`, `--env` and `--json`.

    Attributes:
        path: the project folder given (None: LAKESTACK_PROJECT or the current folder).
        env: the environment given (None: LAKESTACK_ENV or the file's default).
        json: print JSON instead of tables.
    """

    path: Path | None = None
    env: str | None = None
    json: bool = False

    def project(self) -> Project:
        """The project."""
        return open_project(self.path)

    def environment(self) -> tuple[Project, str]:
        """The project and the name of the environment."""
        return open_environment(self.path, self.env)

    def lake(self) -> Lake:
        """The environment's lake."""
        return open_lake(self.path, self.env)


_Command = TypeVar("_Command", bound=Callable[..., None])


def scoped(*, env: bool = True, json: bool = True) -> Callable[[_Command], _Command]:
    """Give a command the options `--project`, `--env` (unless `env=False`) and `--json`
    (unless `json=False`); the command receives them as one `Scope`, its parameter `scope`.

    Typer reads a command's options from its signature, so the signature Typer sees has
    these options in place of `scope`, after the command's own.
    """
    added: list[tuple[str, Any, Any]] = [("project", ProjectOption, None)]
    if env:
        added.append(("env", EnvOption, None))
    if json:
        added.append(("json", JsonOption, False))

    def decorate(command: _Command) -> _Command:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "scope"]
        keyword = inspect.Parameter.KEYWORD_ONLY
        parameters = own + [
            inspect.Parameter(name, keyword, default=default, annotation=kind)
            for name, kind, default in added
        ]

        @functools.wraps(command)
        def run(
            *args: Any,
            project: Path | None = None,
            env: str | None = None,
            json: bool = False,
            **kwargs: Any,
        ) -> None:
            command(*args, scope=Scope(project, env, json), **kwargs)

        run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
        return run  # type: ignore[return-value]

    return decorate


def print_json(data: Any) -> None:
    """Print data as JSON on stdout (no colours, so it pipes cleanly)."""
    print(json.dumps(data, indent=2, default=str))


def plain(text: object, style: str = "") -> Text:
    """`text` as Rich shows it verbatim: `[...]` in a message is text, never markup.

    Use it for every value that comes from data or an error (messages, names, reasons), in
    prints and in table cells alike.
    """
    return Text(str(text), style=style)


def print_error(message: str, *, label: str = "error") -> None:
    """Print `label: message` on stderr as one paragraph, the message verbatim."""
    err_console.print(
        Text.assemble((f"{label}:", "bold red"), " ", message), highlight=False, soft_wrap=True
    )
