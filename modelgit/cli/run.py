"""Running the `modelgit` command line: the global options, and the app with only the invoked
command's module loaded (`cli/app.py` is the app with every command).

Each command parses its arguments, calls one `modelgit` function and renders the result; the
shared app, the error funnel and the output settings are in `cli/base.py`.
"""

import copy
import importlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
import typer.main

from modelgit.cli.arguments import invoked
from modelgit.cli.base import app, funnel, output
from modelgit.errors import InputError

# The module declaring each command or group: a run imports only its own command's module
# (tests/cli/test_app.py holds this map to what the modules declare).
COMMAND_MODULES = {
    "init": "write", "bump": "write", "promote": "write", "rollback": "write",
    "deprecate": "write", "unassign": "write",
    "list": "read", "show": "read", "history": "read", "changelog": "read", "diff": "read",
    "lineage": "read", "impact": "read", "config": "read",
    "manifest": "deploy", "rollout": "deploy", "publish": "deploy",
    "get": "storage", "gc": "storage", "verify": "checks", "scan": "checks",
    "card": "pages", "site": "pages", "ci": "ci",
}  # fmt: skip

# `--help` lists commands in the order a user meets them; one not named here goes last.
ORDER = (
    "init", "bump", "list", "show", "history", "diff", "changelog", "lineage", "impact",
    "promote", "rollback", "unassign", "deprecate", "manifest", "rollout", "publish", "get",
    "verify", "scan", "gc", "card", "site", "config",
)  # fmt: skip


def command_name(command: typer.models.CommandInfo) -> str:
    """The name a command is invoked by: its own, else its function's, as typer derives it."""
    return command.name or typer.main.get_command_name(command.callback.__name__)  # type: ignore[union-attr]


def load_commands(name: str | None = None) -> None:
    """Declare the command or group `name` on the app, or every one when `name` is None or
    unknown (help, suggestions for a mistyped name and completion see them all)."""
    modules = [COMMAND_MODULES[name]] if name in COMMAND_MODULES else set(COMMAND_MODULES.values())
    for module in sorted(modules):
        importlib.import_module(f"modelgit.cli.{module}")
    app.registered_commands.sort(
        key=lambda c: ORDER.index(command_name(c)) if command_name(c) in ORDER else len(ORDER)
    )


def _version(shown: bool) -> None:
    if shown:
        from importlib.metadata import version

        typer.echo(f"modelgit {version('modelgit')}")
        raise typer.Exit()


@app.callback()
@funnel
def global_options(
    directory: Annotated[
        Path | None,
        typer.Option(
            "-C",
            metavar="DIR",
            show_default=False,
            help="Run as if modelgit was started in DIR (as `git -C`): the repository and "
            "every relative path (init's DIR, scan's PATHS, --out) are taken from there.",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing but errors (every command).")
    ] = False,
    plain: Annotated[
        bool,
        typer.Option("--plain", help="Plain text even on a terminal: no tables, no colour."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Git/DVC-native model versioning: versions and stages are git tags carrying metadata.

    Tables are drawn on a terminal and printed as plain columns into a pipe; NO_COLOR turns
    colour off. Every command has --json (see the README's `JSON output` for the schemas).
    """
    output.quiet, output.plain = quiet, plain
    if directory is not None:
        try:
            os.chdir(directory)
        except OSError as exc:
            raise InputError(f"cannot change to {directory}: {exc.strerror}") from None


# typer keeps its click private; its public BadParameter leads to click's usage error classes.
_CLICK_ERRORS = {cls.__name__: cls for cls in typer.BadParameter.__mro__}
_USAGE_ERROR: type[Exception] = _CLICK_ERRORS["UsageError"]
_CLICK_EXCEPTION: type[Exception] = _CLICK_ERRORS["ClickException"]


def app_for(args: list[str]) -> typer.Typer:
    """The app with only the command `args` invokes: click then builds one command's options,
    not all of them (a twentieth of a short command's time). Anything else gets the whole app,
    so help, suggestions for a mistyped name and shell completion see every command."""
    name = invoked(args)
    load_commands(name)
    commands = [c for c in app.registered_commands if command_name(c) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app
    only = copy.copy(app)
    only.registered_commands, only.registered_groups = commands, groups
    return only


def main() -> None:
    """Run the command line (the console script is `entry.main`): click's usage errors leave
    as one `error:` line, exit 2."""
    command = typer.main.get_command(app_for(sys.argv[1:]))
    try:
        code = command.main(prog_name="modelgit", standalone_mode=False)
    except BrokenPipeError:  # a closed pipe while click wrote usage or help
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except _CLICK_EXCEPTION as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare `modelgit`: the help, as before
            exc.show()  # type: ignore[attr-defined]
        else:
            print(f"error: {usage_line(exc)}", file=sys.stderr)
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def usage_line(exc: Exception) -> str:
    """Click's message as one line, lower-cased as ours are, naming the help to read."""
    said = " ".join(exc.format_message().split()).rstrip(".")  # type: ignore[attr-defined]
    if said[:1].isupper() and said[1:2].islower():
        said = said[0].lower() + said[1:]
    context = getattr(exc, "ctx", None) if isinstance(exc, _USAGE_ERROR) else None
    return f"{said} (see {context.command_path} --help)" if context is not None else said


if __name__ == "__main__":
    main()
