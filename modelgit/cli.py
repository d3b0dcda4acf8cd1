"""The `modelgit` command line: parse arguments, call one API function, format its result."""

from __future__ import annotations

import enum
import functools
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from modelgit import api
from modelgit.errors import CHECK_FAILED, ModelgitError

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
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if os.environ.get("MODELGIT_DEBUG"):
                raise
            raise _fail(
                f"unexpected error: {type(exc).__name__}: {exc} (rerun with MODELGIT_DEBUG=1 "
                "for the traceback)",
                UNEXPECTED,
            ) from None

    return wrapper  # type: ignore[return-value]


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _table(title: str | None, columns: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    # Piped output (logs, CI) gets room for whole lines instead of rich's 80-column default.
    Console(width=None if sys.stdout.isatty() else 160).print(table)


@app.command()
@funnel
def init(
    directory: Annotated[Path, typer.Argument(help="Project directory (default: here).")] = Path(),
    example: Annotated[
        bool, typer.Option("--example", help="Create a new project holding the example pipeline.")
    ] = False,
) -> None:
    """Make a directory a git + DVC project (with --example, a ready example project)."""
    from modelgit.project import init as init_project

    result = init_project(directory, example=example)
    done = "; ".join(result.actions) or "nothing to do: already a git + DVC project"
    typer.echo(f"{result.path}: {done}")


class Level(str, enum.Enum):
    """What `bump` raises: a part of the version, or `auto` to decide from what changed."""

    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"
    AUTO = "auto"


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
    result = api.bump(
        repo,
        level.value,
        model,
        version=version,
        dry_run=dry_run,
        message=message,
        push=push,
        explain=explain,
        sign=sign,
        require_pushed=require_pushed,
        allow_unsafe_pickle=allow_unsafe_pickle,
    )
    if as_json:
        _print_json(asdict(result))
        return
    if explain:
        typer.echo(
            f"{result.level} bump: {result.tag} (previous: v{result.previous})"
            if result.previous
            else f"{result.level} bump: {result.tag}"
        )
        for reason in result.reasons:
            typer.echo(f"  - {reason}")
        if not result.reasons:
            typer.echo("  - the level was given, not decided")
        return
    if result.dry_run:
        typer.echo(f"would create {result.tag} on {result.commit[:12]}:\n")
        typer.echo(result.message)
        return
    previous = f" (previous: v{result.previous})" if result.previous else ""
    typer.echo(f"created {result.tag} on {result.commit[:12]}{previous}")
    typer.echo(result.message.splitlines()[0])
    if result.pushed_to:
        typer.echo(f"pushed {result.tag} to {result.pushed_to}")


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
    models = api.list_models(repo)
    keyed: dict[str, dict[str, tuple[str, Any]]] = {}
    if metrics:
        from modelgit import comparing

        keyed = comparing.key_metrics(repo)
    if as_json:
        documents = [asdict(m) for m in models]
        if metrics:
            for document in documents:
                found = keyed.get(document["name"], {})
                document["metrics"] = {
                    label: {"name": k, "value": v} for label, (k, v) in found.items()
                }
        _print_json(documents)
        return
    if not models:
        typer.echo("no models: declare one in dvc.yaml `artifacts:` and run `modelgit bump`")
        return
    stages = sorted({stage for m in models for stage in m.stages})
    rows = []
    for m in models:
        found = keyed.get(m.name, {})
        latest = _v(m.latest) + (" (deprecated)" if m.deprecated else "") + _metric(found, "latest")
        cells = [_v(m.stages.get(s)) + _metric(found, s) for s in stages]
        rows.append([m.name, latest, *cells])
    _table(None, ["model", "latest", *stages], rows)


def _metric(found: dict[str, tuple[str, Any]], label: str) -> str:
    if label not in found:
        return ""
    name, value = found[label]
    return f"  {name}={value}"


def _v(version: str | None) -> str:
    return f"v{version}" if version else "-"


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
    info = api.show(repo, reference)
    if as_json:
        _print_json(
            {
                **info.metadata,
                "tag": info.tag,
                "commit": info.commit,
                "stages": list(info.stages),
                "signed": info.signed,
                "derived": info.derived,
                "problem": info.problem,
            }
        )
        return
    stages = f" [{', '.join(info.stages)}]" if info.stages else ""
    typer.echo(f"{info.tag}{stages}  commit {info.commit[:12]}")
    if info.problem:
        typer.echo(f"warning: {info.problem}; showing what the tag and its commit say", err=True)
    import yaml

    shown = {k: v for k, v in info.metadata.items() if v not in (None, [], {})}
    typer.echo(yaml.safe_dump(shown, sort_keys=False, allow_unicode=True).rstrip())


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
        from modelgit import comparing

        rows = comparing.metric_history(repo, model, metric or None)
        if as_json:
            _print_json([asdict(r) for r in rows])
            return
        names = list(dict.fromkeys(k for r in rows for k in r.metrics))
        table = [
            [_v(r.version), r.created_at[:10], *(_cell(r.metrics.get(n)) for n in names)]
            for r in rows
        ]
        _table(None, ["version", "date", *names], table)
        return
    entries = api.history(repo, model)
    if as_json:
        _print_json([asdict(e) for e in entries])
        return
    rows_ = [
        [e.created_at[:19].replace("T", " "), e.event, _v(e.version), e.stage or "", e.tag,
         e.author.split(" <")[0]]
        for e in entries
    ]  # fmt: skip
    _table(None, ["when", "event", "version", "stage", "tag", "by"], rows_)


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


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
    from modelgit import comparing, gates, render

    rules = [gates.parse_rule(rule) for rule in fail_on or []]
    comparisons = comparing.diff(repo, a, b, model)
    results = gates.check(rules, comparisons)
    if as_json:
        _print_json(
            {
                "comparisons": [asdict(c) for c in comparisons],
                "gates": [asdict(r) for r in results],
                "failed": any(r.failed for r in results),
            }
        )
    elif md:
        body = "\n".join(render.markdown(c, show_all) for c in comparisons)
        typer.echo(body + ("\n" + render.gates_markdown(results) if results else ""), nl=False)
    else:
        typer.echo("\n".join(render.text(c, show_all) for c in comparisons), nl=False)
        if results:
            typer.echo(render.gates_text(results), nl=False)
    if any(r.failed for r in results):
        failed = [r for r in results if r.failed]
        typer.echo(
            f"error: {len(failed)} gate(s) failed: "
            + "; ".join(f"{r.rule} ({r.detail})" for r in failed),
            err=True,
        )
        raise typer.Exit(CHECK_FAILED)


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
    from modelgit import comparing, render

    entries = comparing.changelog(repo, model)
    if as_json:
        _print_json([asdict(e) for e in entries])
    else:
        typer.echo(render.changelog(entries, markdown=md), nl=False)


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
    from modelgit import lineage_render, provenance
    from modelgit.lineage import model_node, to_json

    found = provenance.lineage_of(repo, reference)
    if output is GraphFormat.JSON:
        _print_json({
            "model": found.model, "version": found.version, "commit": found.commit,
            "parents": list(found.parents), "problems": list(found.problems),
            "graph": to_json(found.graph),
        })  # fmt: skip
        return
    if output is GraphFormat.DOT:
        typer.echo(lineage_render.dot(found.graph), nl=False)
    elif output is GraphFormat.MERMAID:
        typer.echo(lineage_render.mermaid(found.graph), nl=False)
    else:
        typer.echo(lineage_render.tree(found.graph, model_node(found.model)), nl=False)
        if found.parents:
            typer.echo(f"parents: {', '.join(found.parents)}")
    for problem in found.problems:
        typer.echo(f"warning: {problem}", err=True)


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
    from modelgit import provenance

    result = provenance.impact(repo, target, rev)
    if as_json:
        _print_json(asdict(result))
        return
    typer.echo(f"{target} ({', '.join(result.matched)}) at {result.rev} reaches:")
    if not result.models:
        typer.echo("  no model")
    for model in result.models:
        held = ", ".join(f"{s} {_v(v)}" for s, v in model.stages.items() if v)
        typer.echo(
            f"  model {model.name}: latest {_v(model.latest)}" + (f"; {held}" if held else "")
        )
    typer.echo(f"stages that would rerun: {', '.join(result.stages) or 'none'}")


def _stage_change(change: Any, as_json: bool) -> None:
    if as_json:
        _print_json(asdict(change))
        return
    if change.tag is None:
        typer.echo(change.note)
        return
    before = f" (was {_v(change.previous)})" if change.stage else ""
    target = f" -> {change.stage} {_v(change.version)}" if change.stage else ""
    typer.echo(f"created {change.tag}{target}{before}")


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
    from modelgit import stages

    change = stages.promote(repo, model, version, stage, message, force)
    _stage_change(change, as_json)


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
    from modelgit import stages

    change = stages.rollback(repo, model, stage, to, message)
    _stage_change(change, as_json)


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
    from modelgit import stages

    change = stages.deprecate(repo, model, version, message, force)
    _stage_change(change, as_json)


class Strategy(str, enum.Enum):
    """Deployment strategies `manifest` renders."""

    BLUEGREEN = "bluegreen"
    CANARY = "canary"
    AB = "ab"
    KSERVE = "kserve"


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
        str, typer.Option("--router", help="canary: argo (Rollout) or istio (VirtualService).")
    ] = "argo",
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
        typer.Option("--crd-schemas", help="With --validate: a directory of CRD JSON schemas."),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Kubernetes YAML for a version: blue-green, canary (Argo or Istio), A/B, or KServe."""
    from modelgit import deploying
    from modelgit.errors import InvalidNameError

    try:
        parsed_steps = tuple(int(s) for s in steps.split(",")) if steps else ()
    except ValueError as exc:
        raise InvalidNameError(f"--steps {steps!r} must be percentages like 10,30,60") from exc
    result = deploying.manifest(
        repo, reference, strategy.value if strategy else None, out, image=image,
        namespace=namespace, replicas=replicas, weight=weight, steps=parsed_steps, router=router,
        switch=switch, weights=weights, stable=stable, check=check, crd_schemas=crd_schemas,
    )  # fmt: skip
    if as_json:
        _print_json(asdict(result))
        return
    if out is None:
        typer.echo("".join(result.files.values()), nl=False)
    else:
        for path in result.written:
            typer.echo(f"wrote {path}")
    for checked in result.checks:
        verdict = (
            f"valid against {checked.schema}" if checked.schema else "NOT validated: no schema"
        )
        typer.echo(f"{checked.file}: {checked.kind} {checked.name}: {verdict}", err=True)


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
    from modelgit.deploy.rollout import HealthCheck, RolloutEvent
    from modelgit.deploy.rollout import rollout as run_rollout

    def show(event: RolloutEvent) -> None:
        typer.echo(f"[{event.at:7.1f}s] {event.kind}: {event.detail}")

    check = HealthCheck(url=health_url, command=health_cmd)
    result = run_rollout(
        repo, model, version, check, stage, window, interval, max_failures, on_failure, show, force
    )
    if not result.succeeded:
        typer.echo(
            f"error: rollout of {result.model} v{result.version} to {result.stage} failed and was "
            f"rolled back ({result.rolled_back})",
            err=True,
        )
        raise typer.Exit(CHECK_FAILED)
    typer.echo(f"{result.model} v{result.version} is in {result.stage}")


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
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Prove versions: tag, metadata, dvc.lock, fingerprint, artifact bytes, signature."""
    from modelgit.verifying import verify as run_verify

    with _progress() as progress:
        results = run_verify(repo, reference, all_versions, require_signed, progress)
    if as_json:
        _print_json([{**asdict(r), "ok": r.ok} for r in results])
    else:
        for result in results:
            typer.echo(f"{result.tag}: {'verified' if result.ok else 'FAILED'}")
            for check in result.checks:
                typer.echo(f"  {'ok ' if check.ok else 'BAD'} {check.name}: {check.detail}")
    failed = [r.tag for r in results if not r.ok]
    if failed:
        typer.echo(f"error: {', '.join(failed)} did not verify", err=True)
        raise typer.Exit(CHECK_FAILED)


class _progress:
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
    from modelgit.errors import InputError
    from modelgit.pickles import scan_paths

    for path in paths:
        if not path.exists():
            raise InputError(f"{path} does not exist")
    findings = scan_paths(paths)
    for finding in findings:
        typer.echo(f"{finding.location}: imports {finding.module}.{finding.name}")
    if findings:
        typer.echo(f"error: {len(findings)} unsafe global(s) found", err=True)
        raise typer.Exit(CHECK_FAILED)
    typer.echo("no unsafe globals found")


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
    from modelgit import ci

    result = ci.init(repo, provider, force)
    for path in result.written:
        typer.echo(f"wrote {path}")
    if result.note:
        typer.echo(f"next: {result.note}")


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
    from modelgit import ci

    result = ci.release(repo, tag, out)
    typer.echo(result.summary, nl=False)
    typer.echo(f"summary: {result.summary_path}")
    if not result.verified:
        typer.echo(f"error: {tag} did not verify: {'; '.join(result.problems)}", err=True)
        raise typer.Exit(CHECK_FAILED)


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
    from modelgit import ci

    result = ci.report(repo, base, out, fail_on)
    if out is None:
        typer.echo(result.markdown, nl=False)
    else:
        typer.echo(f"wrote {out} ({len(result.models)} model(s) changed)")
    if result.failed:
        typer.echo("error: a gate failed; see the report", err=True)
        raise typer.Exit(CHECK_FAILED)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="modelgit")


if __name__ == "__main__":
    main()
