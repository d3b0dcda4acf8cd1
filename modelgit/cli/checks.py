"""Commands that prove things: verify (a version's bytes and metadata), scan (pickles)."""

from pathlib import Path
from typing import Annotated

import typer

import modelgit
from modelgit.cli import render
from modelgit.cli.base import (
    JsonOption,
    Reference,
    RepoOption,
    app,
    echo,
    examples,
    funnel,
    progress_wanted,
)
from modelgit.errors import InputError, PolicyError, UnsafeGlobalsError, VerificationError

VERIFY_BAR_BYTES = 100_000_000  # verify draws a bar for artifacts over 100 MB


@app.command(
    epilog=examples(
        "modelgit verify churn#production",
        "modelgit verify churn --all",
        "modelgit verify churn@v1.3.0 --no-bytes --json",
        "modelgit verify --policy --policy-ref origin/main",
    )
)
@funnel
def verify(
    reference: Reference = None,
    all_versions: Annotated[
        bool, typer.Option("--all", help="Every version of the model.")
    ] = False,
    require_signed: Annotated[
        bool, typer.Option("--require-signed", help="Fail versions whose tag is not signed.")
    ] = False,
    no_bytes: Annotated[
        bool,
        typer.Option(
            "--no-bytes",
            help="Do not hash the artifact's bytes (reported as not checked); without it, bytes "
            "in neither the DVC cache nor the remote fail.",
        ),
    ] = False,
    policy: Annotated[
        bool,
        typer.Option(
            "--policy", help="Check the stage tags in force against .modelgit.yaml's policy."
        ),
    ] = False,
    stage_history: Annotated[
        bool, typer.Option("--history", help="With --policy: every stage tag ever written.")
    ] = False,
    policy_ref: Annotated[
        str | None,
        typer.Option(
            "--policy-ref",
            metavar="REV",
            help="With --policy: read the policy at this revision, e.g. origin/main (default: "
            "the work tree's .modelgit.yaml).",
        ),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Prove versions: every metadata field derived again from the commit, the artifact's bytes
    (each file of a directory) hashed again, the signature; exit 1 unless verified. With
    --policy: the stage tags against the stage policies."""
    if policy or stage_history or policy_ref:
        _verify_policy(repo, reference, policy, stage_history, policy_ref, as_json)
        return
    with render.progress_bar(progress_wanted(), VERIFY_BAR_BYTES) as progress:
        results = modelgit.verify(
            repo, reference, all_versions=all_versions, require_signed=require_signed,
            check_bytes=not no_bytes, progress=progress,
        )  # fmt: skip
    echo(render.verification_json(results) if as_json else render.verification(results))
    failed = [r.tag if r.verdict == "FAILED" else f"{r.tag} ({r.verdict})" for r in results
              if not r.ok]  # fmt: skip
    if failed:
        raise VerificationError(f"{', '.join(failed)} did not verify")


def _verify_policy(
    repo: Path,
    model: str | None,
    policy: bool,
    stage_history: bool,
    policy_ref: str | None,
    as_json: bool,
) -> None:
    if not policy:
        raise InputError("--history and --policy-ref go with --policy")
    if model is not None and ("@" in model or "#" in model):
        raise InputError(f"verify --policy takes a model name, not {model!r}")
    report = modelgit.check_policy(repo, model, history=stage_history, policy_ref=policy_ref)
    echo(render.policy_json(report) if as_json else render.policy_report(report))
    if not report.ok:
        raise PolicyError(f"the stage policy is broken by {', '.join(report.failed)}")


@app.command(
    epilog=examples(
        "modelgit scan models/", "modelgit scan model.pkl --json", "modelgit scan --allow mypkg.* ."
    )
)
@funnel
def scan(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH...",
            show_default=False,
            help="Pickle-based files or directories (relative to -C DIR when given).",
        ),
    ],
    allow: Annotated[
        list[str] | None,
        typer.Option(
            "--allow",
            metavar="MODULE.NAME",
            help="Also allow this global (or PACKAGE.* for a package), beyond scan.allow in "
            ".modelgit.yaml.",
        ),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Refuse pickle globals not on the allow-list (numpy, sklearn, torch...), loading nothing."""
    # A -C DIR has been entered by now (the funnel): PATHs are taken from there.
    result = modelgit.scan(list(paths), allow=allow)
    echo(render.scan_json(result) if as_json else render.scan_text(result))
    if not result.safe:
        count = len(result.findings)
        raise UnsafeGlobalsError(f"{count} finding(s): do not load these files")
