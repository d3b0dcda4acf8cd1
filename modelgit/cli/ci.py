"""The `ci` group: write the workflows, run the release step, write the pull-request report."""

from pathlib import Path
from typing import Annotated

import typer

import modelgit
from modelgit.cli import render
from modelgit.cli.base import JsonOption, RepoOption, app, echo, examples, funnel, write
from modelgit.errors import GateFailedError, InputError, StaleHeadError, VerificationError

ci_app = typer.Typer(
    help="CI: workflows, the release step, the pull-request report.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(ci_app, name="ci")


@ci_app.command(
    "init",
    epilog=examples(
        "modelgit ci init",
        "modelgit ci init --provider gitlab --auth secrets",
        "modelgit ci init --apply",
        "modelgit ci init --site",
        "modelgit ci init --install-spec 'modelgit @ git+https://github.com/ORG/modelgit@SHA'",
    ),
)
@funnel
def ci_init(
    provider: Annotated[
        str,
        typer.Option(
            "--provider", metavar="NAME", help="github or gitlab (default: github, built-in)."
        ),
    ] = "github",
    auth: Annotated[
        str,
        typer.Option(
            "--auth",
            metavar="HOW",
            help="DVC remote credentials: oidc (short-lived, no stored keys) or secrets "
            "(default: oidc, built-in).",
        ),
    ] = "oidc",
    apply: Annotated[
        bool,
        typer.Option(
            "--apply", help="Add a job per stage that applies its manifests (in an environment)."
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite existing workflow files.")
    ] = False,
    site: Annotated[
        bool,
        typer.Option(
            "--site",
            help="Add a job that builds `modelgit site` on every registry tag and publishes it "
            "to GitHub Pages or GitLab Pages.",
        ),
    ] = False,
    install_spec: Annotated[
        str | None,
        typer.Option(
            "--install-spec",
            metavar="REQUIREMENT",
            help="The pip requirement the jobs install modelgit from, e.g. "
            "'modelgit @ git+https://github.com/ORG/modelgit@SHA' (default: this release, "
            "modelgit==VERSION); the remote's extras are added.",
        ),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Write the release (on registration and stage tags) and pull-request workflows."""
    result = modelgit.ci_init(
        repo, provider, auth=auth, apply=apply, force=force, site=site, install_spec=install_spec
    )
    if as_json:
        echo(render.to_json(result))
        return
    echo("".join(f"wrote {path}\n" for path in result.written))
    echo(f"installs: {result.install}\n")
    for step in (result.note, *result.next_steps):
        if step:
            echo(f"next: {step}\n")


@ci_app.command(
    "release",
    epilog=examples(
        "modelgit ci release churn@v1.3.0",
        'modelgit ci release "$GITHUB_REF_NAME" --policy-ref origin/main',
        "modelgit ci release --since churn@v1.2.0",
    ),
)
@funnel
def ci_release(
    tag: Annotated[
        str | None,
        typer.Argument(
            metavar="TAG",
            show_default=False,
            help="The pushed tag: churn@v1.3.0 (a registration) or churn#production#4.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="REF",
            help="Instead of TAG: every registration and stage tag created after REF.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Where the summary and manifests go (default: release/<tag> in the repository).",
        ),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            metavar="REF=W,...",
            help="ab: churn@v1.2.3=0.8,churn@v1.3.0=0.2 (default: deploy.weights).",
        ),
    ] = None,
    policy_ref: Annotated[
        str | None,
        typer.Option(
            "--policy-ref",
            metavar="REV",
            help="Read the stage policy at this revision, e.g. origin/main (default: work tree).",
        ),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Release a pushed tag: verify, publish and render a version, or render a stage's
    manifests; write a summary; exit 1 if the version does not verify or publish."""
    if (tag is None) == (since is None):
        raise InputError("give either a TAG or --since REF")
    if since is not None:
        results = modelgit.ci_release_since(
            repo, since, out, weights=weights, policy_ref=policy_ref
        )
        for each in results:
            write(Path(each.out) / "summary.md", render.release_summary(each))
        base = Path(out) if out is not None else Path(repo) / "release"
        summary = "".join(render.release_summary(r) for r in results)
        summary = summary or render.nothing_since(since)
    else:
        result = modelgit.ci_release(repo, str(tag), out, weights=weights, policy_ref=policy_ref)
        results = (result,)
        base = Path(result.out)
        summary = render.release_summary(result)
    summary_path = write(base / "summary.md", summary)
    if as_json:
        echo(render.release_json(list(results), summary_path, since=since is not None))
    else:
        echo(summary)
        echo(f"summary: {summary_path}\n")
    failed = [r for r in results if not r.ok]
    if failed:
        raise VerificationError(
            "; ".join(f"{r.tag} did not {_goal(r)}: {'; '.join(r.problems)}" for r in failed)
        )


def _goal(result: "modelgit.ReleaseResult") -> str:
    return "release" if result.stage is not None else "verify"


@ci_app.command(
    "report",
    epilog=examples(
        "modelgit ci report --base origin/main --out report.md",
        "modelgit ci report --require-fresh --fail-on any-metric-worse",
    ),
)
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
    require_fresh: Annotated[
        bool,
        typer.Option(
            "--require-fresh",
            help="Fail (exit 1) when dvc.lock is stale: params or code changed without repro.",
        ),
    ] = False,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """The pull-request report: each changed model against the base and against production."""
    result = modelgit.ci_report(repo, base, fail_on, require_fresh=require_fresh)
    if as_json:
        echo(render.to_json(result))
    else:
        markdown = render.report_markdown(result)
        if out is None:
            echo(markdown)
        else:
            write(out, markdown)
            echo(f"wrote {out} ({len(result.models)} model(s) changed)\n")
    if result.stale_failure:
        raise StaleHeadError(
            f"the head's dvc.lock is out of date ({', '.join(sorted(result.stale))}); run "
            "`dvc repro` and commit dvc.lock"
        )
    if result.failed:
        raise GateFailedError("a gate failed; see the report")
