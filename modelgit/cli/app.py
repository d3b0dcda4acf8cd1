"""The `modelgit` command line: parse arguments, call one `modelgit` function, render its result.

Every failure leaves through `funnel`: a ModelgitError is one `error:` line and its exit code
(2 bad input, 1 a failed check), Ctrl-C is 130, anything else is a one-line unexpected error
(3) unless MODELGIT_DEBUG is set.
"""

import enum
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

import modelgit
from modelgit import CanaryRouter, Level, Strategy
from modelgit.cli import render
from modelgit.errors import (
    GateFailedError,
    InputError,
    ModelgitError,
    PolicyError,
    RolloutFailedError,
    UnsafeGlobalsError,
    VerificationError,
)

app = typer.Typer(
    name="modelgit",
    help="Git/DVC-native model versioning: versions and stages are git tags carrying metadata.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

UNEXPECTED = 3
INTERRUPTED = 130
F = TypeVar("F", bound=Callable[..., Any])

RepoOption = Annotated[
    Path, typer.Option("--repo", "-C", help="Run in this directory instead of the current one.")
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON with stable, documented keys.")
]


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def funnel(command: F) -> F:
    """Turn every failure into one stderr line and an exit code (traceback only when debugging)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
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

    return wrapper  # type: ignore[return-value]


def _echo(text: str, *, err: bool = False) -> None:
    if text:
        typer.echo(text, nl=False, err=err)


def _warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def _terminal() -> bool:
    """Tables are drawn for a terminal and plain lines for a pipe."""
    return sys.stdout.isatty()


def _write(path: Path, text: str) -> Path:
    """Write a rendered file (a release summary, a report), making its directory."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


@app.command()
@funnel
def init(
    directory: Annotated[Path, typer.Argument(help="Project directory (default: here).")] = Path(),
    example: Annotated[
        bool, typer.Option("--example", help="Create a new project holding the example pipeline.")
    ] = False,
) -> None:
    """Make a directory a git + DVC project (with --example, a ready example project)."""
    result = modelgit.init(directory, example=example)
    done = "; ".join(result.actions) or "nothing to do: already a git + DVC project"
    _echo(f"{result.path}: {done}\n")


@app.command()
@funnel
def bump(
    level: Annotated[
        Level, typer.Argument(help="major, minor, patch, or auto (decided from what changed).")
    ],
    model: Annotated[
        str | None, typer.Argument(help="Model name (optional when one is declared).")
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Use this version (must exceed the latest).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the tag and metadata without creating it.")
    ] = False,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Subject line for the version tag.")
    ] = None,
    push: Annotated[
        bool, typer.Option("--push", help="Push the new tag (only it) to origin.")
    ] = False,
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
        level=level, model=model, version=version, message=message, dry_run=dry_run,
        explain=explain, push=push, sign=sign, require_pushed=require_pushed,
        allow_unsafe_pickle=allow_unsafe_pickle,
    )  # fmt: skip
    result = modelgit.bump(repo, request)
    _echo(render.to_json(result) if as_json else render.bump(result, explain=explain))


@app.command("list")
@funnel
def list_command(
    metrics: Annotated[
        bool, typer.Option("--metrics", help="Add the key metric of each listed version.")
    ] = False,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Every model with its latest version and the version in each stage."""
    models = modelgit.list_models(repo, metrics=metrics)
    _echo(
        render.models_json(models) if as_json else render.models_table(models, terminal=_terminal())
    )


@app.command()
@funnel
def show(
    reference: Annotated[
        str | None, typer.Argument(help="MODEL, MODEL@vX.Y.Z or MODEL#stage (default: latest).")
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """One version's metadata: hashes, params, metrics, features, environment."""
    info = modelgit.show(repo, reference)
    if as_json:
        _echo(render.version_json(info))
        return
    if info.problem:
        _warn(f"{info.problem}; showing what the tag and its commit say")
    _echo(render.version_text(info))


@app.command()
@funnel
def history(
    model: Annotated[
        str | None, typer.Argument(help="Model name (optional with one model).")
    ] = None,
    metrics: Annotated[
        bool, typer.Option("--metrics", help="List versions with metric columns instead.")
    ] = False,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", help="With --metrics: only this metric (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Registrations and stage moves of a model, newest first (or its metrics per version)."""
    if metrics or metric:
        rows = modelgit.metric_history(repo, model, metric or None)
        _echo(
            render.to_json(rows)
            if as_json
            else render.metric_history_table(rows, terminal=_terminal())
        )
        return
    entries = modelgit.history(repo, model)
    _echo(
        render.to_json(entries) if as_json else render.history_table(entries, terminal=_terminal())
    )


@app.command()
@funnel
def diff(
    a: Annotated[
        str | None,
        typer.Argument(
            help="Old side: MODEL@vX.Y.Z, MODEL#stage, a git revision or workspace "
            "(default: the latest version)."
        ),
    ] = None,
    b: Annotated[
        str | None,
        typer.Argument(help="New side, same forms (default: the workspace)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Compare this model (default: every one).")
    ] = None,
    md: Annotated[bool, typer.Option("--md", help="GitHub Markdown for a PR comment.")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="Show unchanged rows too.")] = False,
    fail_on: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-on",
            help="Gate, repeatable: accuracy<-0.01, latency>+10%, "
            "any-metric-worse. A failed gate exits 1.",
        ),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Compare two versions, stages or revisions: metrics, params, data, stages, schema."""
    result = modelgit.diff(repo, a, b, model=model, fail_on=fail_on)
    comparisons, gates = list(result.comparisons), list(result.gates)
    if as_json:
        _echo(render.diff_json(result))
    elif md:
        body = "\n".join(render.markdown(c, show_all) for c in comparisons)
        _echo(body + ("\n" + render.gates_markdown(gates) if gates else ""))
    else:
        _echo("\n".join(render.text(c, show_all) for c in comparisons))
        if gates:
            _echo(render.gates_text(gates))
    if result.failed:
        raise GateFailedError(render.gate_failures(gates))


@app.command()
@funnel
def changelog(
    model: Annotated[
        str | None, typer.Argument(help="Model name (optional with one model).")
    ] = None,
    md: Annotated[bool, typer.Option("--md", help="Markdown, e.g. for CHANGELOG.md.")] = False,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Every version newest first: date, bump level and reasons, metric and param changes."""
    entries = modelgit.changelog(repo, model)
    _echo(render.to_json(entries) if as_json else render.changelog(entries, markdown=md))


class GraphFormat(str, enum.Enum):
    """How `lineage` prints the graph."""

    TREE = "tree"
    DOT = "dot"
    MERMAID = "mermaid"
    JSON = "json"


@app.command()
@funnel
def lineage(
    reference: Annotated[
        str | None,
        typer.Argument(help="MODEL, MODEL@vX.Y.Z or MODEL#stage (default: the latest version)."),
    ] = None,
    output: Annotated[
        GraphFormat, typer.Option("--format", "-f", help="tree, dot, mermaid or json.")
    ] = GraphFormat.TREE,
    repo: RepoOption = Path(),
) -> None:
    """Everything upstream of a model version: stages, params, data, parent models."""
    from modelgit.cli import graph

    found = modelgit.lineage_of(repo, reference)
    if output is GraphFormat.JSON:
        _echo(render.to_json({
            "model": found.model, "version": found.version, "commit": found.commit,
            "parents": list(found.parents), "problems": list(found.problems),
            "graph": graph.to_json(found.graph),
        }))  # fmt: skip
        return
    if output is GraphFormat.DOT:
        _echo(graph.dot(found.graph))
    elif output is GraphFormat.MERMAID:
        _echo(graph.mermaid(found.graph))
    else:
        _echo(graph.tree(found.graph, found.node))
        if found.parents:
            _echo(f"parents: {', '.join(found.parents)}\n")
    for problem in found.problems:
        _warn(problem)


@app.command()
@funnel
def impact(
    target: Annotated[
        str,
        typer.Argument(
            help="A data path, a stage name, or a param (train.lr, params.yaml:train.lr)."
        ),
    ],
    rev: Annotated[
        str | None, typer.Option("--rev", help="Read the pipeline at this git revision.")
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Which models (and their production/staging versions) and stages a change would reach."""
    result = modelgit.impact(repo, target, rev)
    _echo(render.to_json(result) if as_json else render.impact_text(target, result))


@app.command()
@funnel
def promote(
    model: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version to promote (1.2.3 or v1.2.3).")],
    stage: Annotated[str, typer.Argument(help="Stage, e.g. staging or production.")],
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Why (recorded in the tag).")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Allow an unconfigured stage or skipping the promotion order."
        ),
    ] = False,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Assign a version to a stage (a new <model>#<stage>#<N> tag)."""
    change = modelgit.promote(repo, model, version, stage, message, force=force)
    _echo(render.to_json(change) if as_json else render.stage_change(change))


@app.command()
@funnel
def rollback(
    model: Annotated[str, typer.Argument(help="Model name.")],
    stage: Annotated[str, typer.Option("--stage", help="Stage to roll back.")] = "production",
    to: Annotated[
        str | None, typer.Option("--to", help="Version to go back to (default: the previous one).")
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Reason (recorded in the tag).")
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Give a stage back to the version that held it before (a new tag; nothing is deleted)."""
    change = modelgit.rollback(repo, model, stage, to, message)
    _echo(render.to_json(change) if as_json else render.stage_change(change))


@app.command()
@funnel
def deprecate(
    model: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[
        str | None, typer.Argument(help="Version to deprecate (default: the whole model).")
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Why (recorded in the tag).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Deprecate even a version a stage still holds.")
    ] = False,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Deprecate a version (<model>@vX.Y.Z!) or the whole model (<model>@deprecated)."""
    change = modelgit.deprecate(repo, model, version, message, force=force)
    _echo(render.to_json(change) if as_json else render.stage_change(change))


@app.command()
@funnel
def manifest(
    reference: Annotated[
        str | None, typer.Argument(help="MODEL, MODEL@vX.Y.Z or MODEL#stage (default: latest).")
    ] = None,
    strategy: Annotated[
        Strategy | None,
        typer.Option(
            "--strategy", help="bluegreen, canary, ab or kserve (default: deploy.strategy)."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory inside the project to write into.")
    ] = None,
    image: Annotated[str | None, typer.Option("--image", help="Serving container image.")] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", help="Kubernetes namespace.")
    ] = None,
    replicas: Annotated[int | None, typer.Option("--replicas", help="Pods per version.")] = None,
    weight: Annotated[
        int | None,
        typer.Option("--weight", help="canary/kserve: percent of traffic to this version."),
    ] = None,
    steps: Annotated[
        str | None, typer.Option("--steps", help="canary (Argo): setWeight steps, e.g. 10,30,60.")
    ] = None,
    router: Annotated[
        CanaryRouter,
        typer.Option("--router", help="canary: argo (Rollout) or istio (VirtualService)."),
    ] = CanaryRouter.ARGO,
    switch: Annotated[
        bool, typer.Option("--switch", help="bluegreen: render only the Service, cutting over.")
    ] = False,
    weights: Annotated[
        str | None,
        typer.Option("--weights", help="ab: churn@v1.2.3=0.8,churn@v1.3.0=0.2 (sum to 1)."),
    ] = None,
    stable: Annotated[
        str | None,
        typer.Option("--stable", help="canary/bluegreen: the live version (default: #production)."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--validate", help="Validate against Kubernetes schemas first.")
    ] = False,
    crd_schemas: Annotated[
        Path | None,
        typer.Option(
            "--crd-schemas",
            help="With --validate: CRD JSON schemas replacing the packaged ones (a directory).",
        ),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Kubernetes YAML for a version: blue-green, canary (Argo or Istio), A/B, or KServe."""
    request = modelgit.ManifestRequest(
        reference=reference, strategy=strategy, out=out, image=image, namespace=namespace,
        replicas=replicas, weight=weight, steps=steps or (), router=router, switch=switch,
        weights=weights, stable=stable, validate=check, crd_schemas=crd_schemas,
    )  # fmt: skip
    result = modelgit.manifest(repo, request)
    if as_json:
        _echo(render.to_json(result))
        return
    if out is None:
        _echo("".join(result.files.values()))
    else:
        _echo("".join(f"wrote {path}\n" for path in result.written))
    _echo(render.manifest_checks(result), err=True)


@app.command()
@funnel
def rollout(
    model: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version to roll out.")],
    stage: Annotated[str, typer.Option("--stage", help="Stage to promote into.")] = "production",
    health_url: Annotated[
        str | None, typer.Option("--health-url", help="Must answer 2xx to count as healthy.")
    ] = None,
    health_cmd: Annotated[
        str | None, typer.Option("--health-cmd", help="Must exit 0 to count as healthy.")
    ] = None,
    window: Annotated[float, typer.Option("--window", help="Seconds to watch.")] = 300,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between checks.")] = 30,
    max_failures: Annotated[
        int, typer.Option("--max-failures", help="Failed checks that trigger the rollback.")
    ] = 1,
    on_failure: Annotated[
        str | None, typer.Option("--on-failure", help="Command to run after a rollback (alert).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Promote past the promotion order.")
    ] = False,
    repo: RepoOption = Path(),
) -> None:
    """Promote, watch a health check for a window, and roll back (exit 1) if it fails."""

    def show(event: modelgit.RolloutEvent) -> None:
        _echo(f"[{event.at:7.1f}s] {event.kind}: {event.detail}\n")

    request = modelgit.RolloutRequest(
        model=model, version=version, health_url=health_url, health_cmd=health_cmd, stage=stage,
        window=window, interval=interval, max_failures=max_failures, on_failure=on_failure,
        force=force,
    )  # fmt: skip
    result = modelgit.rollout(repo, request, show)
    if not result.succeeded:
        raise RolloutFailedError(
            f"rollout of {result.model} v{result.version} to {result.stage} failed and was "
            f"rolled back ({result.rolled_back})"
        )
    _echo(f"{result.model} v{result.version} is in {result.stage}\n")


@app.command()
@funnel
def verify(
    reference: Annotated[
        str | None, typer.Argument(help="MODEL, MODEL@vX.Y.Z or MODEL#stage (default: latest).")
    ] = None,
    all_versions: Annotated[
        bool, typer.Option("--all", help="Every version of the model.")
    ] = False,
    require_signed: Annotated[
        bool, typer.Option("--require-signed", help="Fail versions whose tag is not signed.")
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
            "--policy-ref", help="With --policy: read the policy at this revision (origin/main)."
        ),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Prove versions: tag, metadata, dvc.lock, fingerprint, artifact bytes, signature."""
    if policy or stage_history or policy_ref:
        _verify_policy(repo, reference, policy, stage_history, policy_ref, as_json)
        return
    with _Progress() as progress:
        results = modelgit.verify(
            repo, reference, all_versions=all_versions, require_signed=require_signed,
            progress=progress,
        )  # fmt: skip
    _echo(render.verification_json(results) if as_json else render.verification(results))
    failed = [r.tag for r in results if not r.ok]
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
    _echo(render.policy_json(report) if as_json else render.policy_report(report))
    if not report.ok:
        raise PolicyError(f"the stage policy is broken by {', '.join(report.failed)}")


class _Progress:
    """A progress bar on stderr for files large enough to wait for (core code never prints)."""

    THRESHOLD = 64 << 20

    def __enter__(self) -> Callable[[str, int, int], None]:
        self.bar: Any = None
        self.task: Any = None
        return self.update

    def update(self, label: str, done: int, total: int) -> None:
        if total < self.THRESHOLD:
            return
        if self.bar is None:
            from rich.progress import Progress

            self.bar = Progress(transient=True, console=_stderr_console())
            self.bar.start()
            self.task = self.bar.add_task(f"hashing {label}", total=total)
        self.bar.update(self.task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@app.command()
@funnel
def scan(
    paths: Annotated[list[Path], typer.Argument(help="Pickle-based files or directories.")],
) -> None:
    """Find pickle globals that execute code (os.system, eval, ...), without loading anything."""
    result = modelgit.scan(list(paths))
    _echo(render.scan_text(result))
    if not result.safe:
        raise UnsafeGlobalsError(f"{len(result.findings)} unsafe global(s) found")


ci_app = typer.Typer(help="CI: workflows, the release step, the pull-request report.")
app.add_typer(ci_app, name="ci")


@ci_app.command("init")
@funnel
def ci_init(
    provider: Annotated[str, typer.Option("--provider", help="github or gitlab.")] = "github",
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite existing workflow files.")
    ] = False,
    repo: RepoOption = Path(),
) -> None:
    """Write the release (on version tags) and pull-request workflows into the repo."""
    result = modelgit.ci_init(repo, provider, force=force)
    _echo("".join(f"wrote {path}\n" for path in result.written))
    if result.note:
        _echo(f"next: {result.note}\n")


@ci_app.command("release")
@funnel
def ci_release(
    tag: Annotated[str, typer.Argument(help="The pushed version tag, e.g. churn@v1.3.0.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Where the summary and manifests go.")
    ] = None,
    repo: RepoOption = Path(),
) -> None:
    """Verify a version tag, render its manifests, write a release summary; exit 1 if it fails."""
    result = modelgit.ci_release(repo, tag, out)
    summary = render.release_summary(result)
    summary_path = _write(Path(result.out) / "summary.md", summary)
    _echo(summary)
    _echo(f"summary: {summary_path}\n")
    if not result.verified:
        raise VerificationError(f"{tag} did not verify: {'; '.join(result.problems)}")


@ci_app.command("report")
@funnel
def ci_report(
    base: Annotated[
        str, typer.Option("--base", help="The revision the change goes into.")
    ] = "origin/main",
    out: Annotated[Path | None, typer.Option("--out", help="Write the Markdown here.")] = None,
    fail_on: Annotated[
        list[str] | None, typer.Option("--fail-on", help="Gate, repeatable (as in diff).")
    ] = None,
    repo: RepoOption = Path(),
) -> None:
    """The pull-request report: each changed model against the base and against production."""
    result = modelgit.ci_report(repo, base, fail_on)
    markdown = render.report_markdown(result)
    if out is None:
        _echo(markdown)
    else:
        _write(out, markdown)
        _echo(f"wrote {out} ({len(result.models)} model(s) changed)\n")
    if result.failed:
        raise GateFailedError("a gate failed; see the report")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="modelgit")


if __name__ == "__main__":
    main()
