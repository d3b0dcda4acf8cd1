"""The `modelgit` command line: global options, then one module per group of commands.

Each command parses its arguments, calls one `modelgit` function and renders the result; the
shared app, the error funnel and the output settings are in `cli/base.py`.
"""

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from modelgit.cli import checks, ci, deploy, pages, read, storage, write  # noqa: F401
from modelgit.cli.base import app, funnel, output
from modelgit.errors import InputError

__all__ = ["app", "funnel", "main"]

# `--help` lists commands in the order a user meets them; one not named here goes last.
ORDER = (
    "init", "bump", "list", "show", "history", "diff", "changelog", "lineage", "impact",
    "promote", "rollback", "deprecate", "manifest", "rollout", "publish", "get", "verify",
    "scan", "gc", "card", "site", "config",
)  # fmt: skip
app.registered_commands.sort(key=lambda c: ORDER.index(c.name) if c.name in ORDER else len(ORDER))


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


def main() -> None:
    """Console-script entry point."""
    try:
        app(prog_name="modelgit")
    except BrokenPipeError:  # a closed pipe while click wrote usage or help
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)


if __name__ == "__main__":
    main()
