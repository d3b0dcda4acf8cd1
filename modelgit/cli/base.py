"""What every command shares: the typer app, its global options, the error funnel and output.

Every failure leaves through `funnel`: a ModelgitError is one `error:` line and its exit code
(2 bad input, 1 a failed check), Ctrl-C is 130, a closed pipe is a quiet 0, anything else is a
one-line unexpected error (3) unless MODELGIT_DEBUG is set. `funnel` also gives every command
`--quiet` and `--plain`, so no command can miss them.
"""

import contextlib
import functools
import inspect
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from modelgit.cli import render
from modelgit.errors import InputError, ModelgitError

app = typer.Typer(
    name="modelgit",
    help="Git/DVC-native model versioning: versions and stages are git tags carrying metadata.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain click help and usage errors: no rich import on `--help`, no boxes in a pipe.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

UNEXPECTED = 3
INTERRUPTED = 130
F = TypeVar("F", bound=Callable[..., Any])

RepoOption = Annotated[
    Path,
    typer.Option(
        "--repo", "-C", metavar="DIR", show_default=False,
        help="Run in this directory (default: the current one; `modelgit -C DIR` works too).",
    ),
]  # fmt: skip
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON (schema: see README, `JSON output`).")
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print nothing but errors (the exit code tells).")
]
PlainOption = Annotated[
    bool,
    typer.Option("--plain", help="Plain text even on a terminal: no tables, no colour."),
]


@dataclass
class Output:
    """How this run prints: set by the global options and each command's --quiet/--plain."""

    quiet: bool = False
    plain: bool = False

    @property
    def terminal(self) -> bool:
        """Tables are drawn for a terminal and plain lines for a pipe (or --plain)."""
        return not self.plain and sys.stdout.isatty()

    def look(self) -> render.Look:
        """The rendering settings: colour unless NO_COLOR (https://no-color.org) is set."""
        if not self.terminal:
            return render.PLAIN
        colour = not os.environ.get("NO_COLOR")
        return render.Look(terminal=True, colour=colour, width=shutil.get_terminal_size().columns)


output = Output()


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _closed_pipe() -> typer.Exit:
    """`modelgit history | head -1`: the reader left; say nothing more and succeed, as git does."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
    return typer.Exit(0)


def funnel(command: F) -> F:
    """Turn every failure into one stderr line and an exit code; add --quiet and --plain."""
    own = list(inspect.signature(command).parameters.values())
    taken = {parameter.name for parameter in own}
    shared = [p for p in _SHARED if p.name not in taken]  # the app callback has its own

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for parameter in shared:
            if kwargs.pop(parameter.name, False):
                setattr(output, parameter.name, True)
        try:
            with _within(kwargs):
                result = command(*args, **kwargs)
            sys.stdout.flush()
            return result
        except BrokenPipeError:
            raise _closed_pipe() from None
        except ModelgitError as exc:
            if os.environ.get("MODELGIT_DEBUG"):
                raise
            raise _fail(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", INTERRUPTED) from None
        except Exception as exc:
            if os.environ.get("MODELGIT_DEBUG"):
                raise
            raise _fail(
                f"unexpected error: {type(exc).__name__}: {exc} (rerun with MODELGIT_DEBUG=1 "
                "for the traceback)",
                UNEXPECTED,
            ) from None

    wrapper.__signature__ = inspect.Signature([*own, *shared])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {
        **command.__annotations__,
        **{p.name: p.annotation for p in shared},
    }
    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def _within(kwargs: dict[str, Any]) -> Iterator[None]:
    """A command's own `-C/--repo DIR` means what `modelgit -C DIR` means (as `git -C`): run
    there, so a relative path (`--remote`, `--out`, a file argument) is taken from DIR, not
    only the repository. The directory is restored afterwards (a test runs many commands)."""
    repo = kwargs.get("repo")
    if not isinstance(repo, Path) or repo == Path():
        yield
        return
    try:
        before = os.getcwd()
        os.chdir(repo)
    except OSError as exc:
        raise InputError(f"cannot change to {repo}: {exc.strerror}") from None
    kwargs["repo"] = Path()
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.chdir(before)


_SHARED = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=False, annotation=option)
    for name, option in (("quiet", QuietOption), ("plain", PlainOption))
]


def echo(text: str, *, err: bool = False) -> None:
    """Print a rendered result (nothing with --quiet, except on stderr)."""
    if text and (err or not output.quiet):
        typer.echo(text, nl=False, err=err)


def warn(message: str) -> None:
    """A `warning:` line on stderr (silenced by --quiet)."""
    if not output.quiet:
        typer.echo(f"warning: {message}", err=True)


def write(path: Path, text: str) -> Path:
    """Write a rendered file (a release summary, a report) through modelgit's safe writer:
    never over a file modelgit did not write, never through a symlink."""
    import modelgit

    return modelgit.write_generated(path, text)


def examples(*lines: str) -> str:
    """A command's help epilog: the examples, kept as written (click rewraps other text)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def complete_reference(incomplete: str) -> list[str]:
    """Shell completion for MODEL, MODEL@vX.Y.Z and MODEL#stage, read from the registry here."""
    import modelgit

    try:
        if "@" in incomplete or "#" in incomplete:
            model = incomplete.split("@")[0].split("#")[0]
            versions = [f"{model}@v{row.version}" for row in modelgit.list_versions(".", model)]
            summary = next(m for m in modelgit.list_models(".") if m.name == model)
            stages = [f"{model}#{stage}" for stage in summary.stages]
            candidates = versions + stages
        else:
            candidates = [summary.name for summary in modelgit.list_models(".")]
    except (ModelgitError, StopIteration, OSError):
        return []
    return [candidate for candidate in candidates if candidate.startswith(incomplete)]


Reference = Annotated[
    str | None,
    typer.Argument(
        metavar="MODEL[@VERSION|#STAGE]", show_default=False, autocompletion=complete_reference,
        help="MODEL, MODEL@vX.Y.Z (or MODEL@X.Y.Z) or MODEL#stage (default: the only model's "
        "latest version).",
    ),
]  # fmt: skip


def progress_wanted() -> bool:
    """Bars go to stderr, and only to a terminal (not a log, not with --quiet or --plain)."""
    return not (output.quiet or output.plain) and sys.stderr.isatty()
