"""Commands that write the registry: init, bump, promote, rollback, deprecate."""

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
)
from modelgit.errors import InputError

MessageOption = Annotated[
    str | None,
    typer.Option("--message", "-m", metavar="TEXT", help="Why (recorded in the tag)."),
]
PushOption = Annotated[
    bool,
    typer.Option(
        "--push", help="Push exactly the new tag to origin (default: keep it local, built-in)."
    ),
]


def _reference_argument(metavar: str, text: str) -> typer.models.ArgumentInfo:
    return typer.Argument(
        metavar=metavar, show_default=False, autocompletion=complete_reference, help=text
    )


@app.command(epilog=examples("modelgit init", "modelgit init --example demo"))
@funnel
def init(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="[DIR]",
            show_default=False,
            help="Project directory (default: here; relative to -C DIR when given).",
        ),
    ] = Path(),
    example: Annotated[
        bool, typer.Option("--example", help="Create a new project holding the example pipeline.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Make a directory a git + DVC project (with --example, a ready example project)."""
    result = modelgit.init(directory, example=example)
    if as_json:
        echo(render.to_json(result))
        return
    done = "; ".join(result.actions) or "nothing to do: already a git + DVC project"
    echo(f"{result.path}: {done}\n")


@app.command(
    epilog=examples("modelgit bump auto --explain", "modelgit bump minor churn --push"),
)
@funnel
def bump(
    level: Annotated[
        str,
        typer.Argument(
            metavar="LEVEL",
            show_default=False,
            help="major, minor, patch, or auto (decided from what changed).",
        ),
    ],
    model: Annotated[
        str | None,
        typer.Argument(
            metavar="[MODEL]",
            show_default=False,
            autocompletion=complete_reference,
            help="Model name (default: the only model declared).",
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            metavar="X.Y.Z",
            help="Use this version (must exceed the latest; default: the next one at LEVEL).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the tag and metadata without creating it.")
    ] = False,
    message: Annotated[
        str | None,
        typer.Option("--message", "-m", metavar="TEXT", help="Subject line for the version tag."),
    ] = None,
    push: PushOption = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print the decided level and why; tag nothing.")
    ] = False,
    sign: Annotated[
        bool, typer.Option("--sign", help="Sign the tag (git's GPG or SSH signing).")
    ] = False,
    require_pushed: Annotated[
        bool, typer.Option("--require-pushed", help="Refuse an artifact not in the DVC remote.")
    ] = False,
    allow_unsafe_pickle: Annotated[
        bool,
        typer.Option("--allow-unsafe-pickle", help="Register a pickle whose globals run code."),
    ] = False,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Register the model at HEAD as a new version (an annotated tag with its metadata)."""
    request = modelgit.BumpRequest(
        level=level, model=model, version=version, message=message, dry_run=dry_run,  # type: ignore[arg-type]
        explain=explain, push=push, sign=sign, require_pushed=require_pushed,
        allow_unsafe_pickle=allow_unsafe_pickle,
    )  # fmt: skip
    result = modelgit.bump(repo, request)
    echo(render.to_json(result) if as_json else render.bump(result, explain=explain))


@app.command(
    epilog=examples(
        "modelgit promote churn@v1.3.0 production", "modelgit promote churn#staging production"
    )
)
@funnel
def promote(
    arguments: Annotated[
        list[str],
        typer.Argument(
            metavar="MODEL[@VERSION|#STAGE] [VERSION] STAGE",
            show_default=False,
            autocompletion=complete_reference,
            help="The version, then the stage: churn@v1.3.0 production, churn 1.3.0 production, "
            "or churn#staging production (the version staging holds).",
        ),
    ],
    message: MessageOption = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Allow an unconfigured stage or skipping the promotion order."
        ),
    ] = False,
    push: PushOption = False,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Assign a version to a stage (a new <model>#<stage>#<N> tag)."""
    if len(arguments) == 2:
        (reference, stage), version = arguments, None
    elif len(arguments) == 3:
        reference, version, stage = arguments
    else:
        raise InputError(
            "promote takes MODEL@VERSION STAGE or MODEL VERSION STAGE, "
            f"e.g. `modelgit promote churn@v1.3.0 production` (got {len(arguments)} arguments)"
        )
    change = modelgit.promote(repo, reference, version, stage, message, force=force, push=push)
    echo(render.to_json(change) if as_json else render.stage_change(change))


@app.command(
    epilog=examples("modelgit rollback churn#production", "modelgit rollback churn --to 1.2.0")
)
@funnel
def rollback(
    reference: Annotated[
        str,
        _reference_argument(
            "MODEL[#STAGE|@VERSION]",
            "churn#production rolls production back; churn@v1.2.0 rolls --stage back to it.",
        ),
    ],
    stage: Annotated[
        str | None,
        typer.Option(
            "--stage",
            metavar="STAGE",
            help="Stage to roll back (default: the one MODEL#STAGE names, else production, "
            "built-in).",
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="VERSION",
            help="Version to go back to (default: the one that held the stage before).",
        ),
    ] = None,
    message: MessageOption = None,
    push: PushOption = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Go --to a version past the promotion order, or one that failed there."
        ),
    ] = False,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Give a stage back to the version that held it before (a new tag; nothing is deleted)."""
    if stage and "#" in reference and not reference.endswith(f"#{stage}"):
        raise InputError(f"{reference} and --stage {stage} name different stages")
    change = modelgit.rollback(
        repo, reference, stage or "production", to, message, push=push, force=force
    )
    echo(render.to_json(change) if as_json else render.stage_change(change))


@app.command(
    epilog=examples(
        "modelgit deprecate churn@v0.2.0 -m 'leaks a feature'", "modelgit deprecate churn"
    )
)
@funnel
def deprecate(
    reference: Annotated[
        str,
        _reference_argument(
            "MODEL[@VERSION]", "churn@v0.2.0 deprecates that version; churn alone, the model."
        ),
    ],
    version: Annotated[
        str | None,
        typer.Argument(
            metavar="[VERSION]",
            show_default=False,
            help="Version to deprecate, when MODEL names none (default: the whole model).",
        ),
    ] = None,
    message: MessageOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Deprecate even a version a stage still holds.")
    ] = False,
    push: PushOption = False,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Deprecate a version (<model>@vX.Y.Z!) or the whole model (<model>@deprecated)."""
    change = modelgit.deprecate(repo, reference, version, message, force=force, push=push)
    echo(render.to_json(change) if as_json else render.stage_change(change))


@app.command(
    epilog=examples(
        "modelgit unassign churn#staging", "modelgit unassign churn#production -m 'pulled' --push"
    )
)
@funnel
def unassign(
    reference: Annotated[
        str,
        _reference_argument(
            "MODEL#STAGE", "churn#production takes the version production holds out of it."
        ),
    ],
    message: MessageOption = None,
    push: PushOption = False,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Take a stage's version out of it (GTO's <model>#<stage>!#<N>; nothing is deleted)."""
    change = modelgit.unassign(repo, reference, None, message, push=push)
    echo(render.to_json(change) if as_json else render.stage_change(change))
