"""Commands that move or free bytes: `get` and `gc`."""

from pathlib import Path
from typing import Annotated

import typer

import modelgit
from modelgit.cli import render
from modelgit.cli.base import (
    JsonOption,
    RepoOption,
    app,
    complete_reference,
    echo,
    examples,
    funnel,
    progress_wanted,
    warn,
)


@app.command(
    epilog=examples(
        "modelgit get churn#production",
        "modelgit get churn@v1.2.0 -o /models/churn.pkl",
        "modelgit get churn#production --repo https://github.com/acme/churn.git",
    )
)
@funnel
def get(
    reference: Annotated[
        str,
        typer.Argument(
            metavar="MODEL[@VERSION|#STAGE]",
            autocompletion=complete_reference,
            help="MODEL (its latest version), MODEL@vX.Y.Z or MODEL#stage.",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="PATH",
            help="Where to put it (default: the artifact's file name here, built-in).",
        ),
    ] = None,
    source: Annotated[
        str,
        typer.Option(
            "--repo",
            "-C",
            metavar="URL|DIR",
            help="The repository to read: a directory, or a git URL read without a full clone, "
            "as `dvc get` does (default: the current directory). As with `dvc get`, -o stays "
            "relative to where you are; `modelgit -C DIR get` runs in DIR.",
        ),
    ] = ".",
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace an existing, different file at PATH (never a folder)."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Download a version's artifact from the DVC cache or remote; its md5 is checked before
    anything reaches PATH."""
    with render.progress_bar(progress_wanted()) as progress:
        local = Path(source).expanduser()
        # A working copy is read in place; a URL, or a bare repository, as `dvc get` would.
        working_copy = local.is_dir() and not (local / "HEAD").is_file()
        where = {"repo": local} if working_copy else {"url": source}
        result = modelgit.get(reference, out, force=force, progress=progress, **where)
    if result.deprecated or result.model_deprecated:
        what = result.tag if result.deprecated else f"the model of {result.tag}"
        warn(f"{what} is deprecated; it is served all the same")
    if as_json:
        echo(render.to_json(result))
        return
    state = "already there" if result.already_there else "md5 checked"
    echo(f"{result.path}: {result.tag} ({state}, {result.md5})\n")


@app.command(
    epilog=examples(
        "modelgit gc",
        "modelgit gc --keep-last 10 --keep-days 30 --json",
        "modelgit gc --apply --cloud",
    )
)
@funnel
def gc(
    model: Annotated[
        str | None,
        typer.Argument(
            metavar="[MODEL]",
            autocompletion=complete_reference,
            help="Only this model (default: every model).",
        ),
    ] = None,
    keep_last: Annotated[
        int | None,
        typer.Option(
            "--keep-last",
            metavar="N",
            help="Keep the latest N versions (default: retention.keep_last, else 5).",
        ),
    ] = None,
    keep_days: Annotated[
        int | None,
        typer.Option(
            "--keep-days",
            metavar="D",
            help="Keep versions newer than D days (default: retention.keep_days, else 90).",
        ),
    ] = None,
    keep_stages: Annotated[
        bool | None,
        typer.Option(
            "--keep-stages/--no-keep-stages",
            help="Keep versions a stage held within D days (default: retention.keep_stages, "
            "else yes).",
        ),
    ] = None,
    archive_stage: Annotated[
        str | None,
        typer.Option(
            "--archive-stage",
            metavar="NAME",
            help="Assign kept versions that left their stage to this stage (default: "
            "retention.archive_stage, else none).",
        ),
    ] = None,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Retire the planned versions, archive the planned ones and free storage only "
            "retired versions used.",
        ),
    ] = False,
    cloud: Annotated[
        bool,
        typer.Option(
            "--cloud", help="With --apply: also on the DVC remote, with published copies."
        ),
    ] = False,
    remote: Annotated[
        str | None,
        typer.Option(
            "--remote", metavar="NAME", help="With --cloud: this DVC remote (default: the default)."
        ),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Retention: a plan of what is kept (and why) and retired; --apply retires with GTO's
    deregistration tags (never deleting one) and frees what only retired versions used."""
    if (cloud or remote) and not apply:
        raise modelgit.InputError("--cloud and --remote act only with --apply")
    if remote and not cloud:
        raise modelgit.InputError("--remote names the DVC remote --cloud cleans; add --cloud")
    result = modelgit.gc(
        repo,
        model,
        keep_last=keep_last,
        keep_days=keep_days,
        keep_stages=keep_stages,
        archive_stage=archive_stage,
        apply=apply,
        cloud=cloud,
        remote=remote,
    )
    echo(render.to_json(result) if as_json else render.retention_text(result))
