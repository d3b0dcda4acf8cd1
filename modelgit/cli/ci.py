"""The `ci` group: write the workflows, run the release step, write the pull-request report."""

from pathlib import Path
from typing import Annotated

import typer

import modelgit
from modelgit.cli import render
from modelgit.cli.base import JsonOption, RepoOption, app, echo, examples, funnel, write
from modelgit.errors import GateFailedError, VerificationError

ci_app = typer.Typer(
    help="CI: workflows, the release step, the pull-request report.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(ci_app, name="ci")


@ci_app.command("init", epilog=examples("modelgit ci init", "modelgit ci init --provider gitlab"))
@funnel
def ci_init(
    provider: Annotated[
        str,
        typer.Option(
            "--provider", metavar="NAME", help="github or gitlab (default: github, built-in)."
        ),
    ] = "github",
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite existing workflow files.")
    ] = False,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Write the release (on version tags) and pull-request workflows into the repo."""
    result = modelgit.ci_init(repo, provider, force=force)
    if as_json:
        echo(render.to_json(result))
        return
    echo("".join(f"wrote {path}\n" for path in result.written))
    if result.note:
        echo(f"next: {result.note}\n")


@ci_app.command(
    "release",
    epilog=examples("modelgit ci release churn@v1.3.0", 'modelgit ci release "$GITHUB_REF_NAME"'),
)
@funnel
def ci_release(
    tag: Annotated[
        str,
        typer.Argument(
            metavar="TAG",
            show_default=False,
            help="The pushed version tag, e.g. churn@v1.3.0.",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Where the summary and manifests go (default: release/<tag> in the repository).",
        ),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Verify a version tag, render its manifests, write a release summary; exit 1 if it fails."""
    result = modelgit.ci_release(repo, tag, out)
    summary = render.release_summary(result)
    summary_path = write(Path(result.out) / "summary.md", summary)
    if as_json:
        echo(render.release_json(result, summary_path))
    else:
        echo(summary)
        echo(f"summary: {summary_path}\n")
    if not result.verified:
        raise VerificationError(f"{tag} did not verify: {'; '.join(result.problems)}")


@ci_app.command("report", epilog=examples("modelgit ci report --base origin/main --out report.md"))
@funnel
def ci_report(
    base: Annotated[
        str,
        typer.Option(
            "--base",
            metavar="REV",
            help="The revision the change goes into (default: origin/main, built-in).",
        ),
    ] = "origin/main",
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write the Markdown here (default: stdout)."),
    ] = None,
    fail_on: Annotated[
        list[str] | None,
        typer.Option("--fail-on", metavar="RULE", help="Gate, repeatable (as in diff)."),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """The pull-request report: each changed model against the base and against production."""
    result = modelgit.ci_report(repo, base, fail_on)
    if as_json:
        echo(render.to_json(result))
    else:
        markdown = render.report_markdown(result)
        if out is None:
            echo(markdown)
        else:
            write(out, markdown)
            echo(f"wrote {out} ({len(result.models)} model(s) changed)\n")
    if result.failed:
        raise GateFailedError("a gate failed; see the report")
