"""Commands that read: list, show, history, changelog, diff, lineage, impact, config."""

import enum
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
    complete_reference,
    echo,
    examples,
    funnel,
    output,
    warn,
)
from modelgit.errors import GateFailedError, InputError

ModelArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="[MODEL]", show_default=False, autocompletion=complete_reference,
        help="Model name (default: the only model declared).",
    ),
]  # fmt: skip


RemoteOption = Annotated[
    str | None,
    typer.Option(
        "--remote", metavar="URL",
        help="Read the registry at a git URL without cloning it (default: this repository).",
    ),
]  # fmt: skip


@app.command(
    "list",
    epilog=examples("modelgit list", "modelgit list churn", "modelgit list --metrics --json"),
)
@funnel
def list_command(
    model: Annotated[
        str | None,
        typer.Argument(
            metavar="[MODEL]",
            show_default=False,
            autocompletion=complete_reference,
            help="List this model's versions (as `show MODEL --versions`) instead of models.",
        ),
    ] = None,
    metrics: Annotated[
        bool, typer.Option("--metrics", help="Add the key metric of each listed version.")
    ] = False,
    as_json: JsonOption = False,
    remote: RemoteOption = None,
    repo: RepoOption = Path(),
) -> None:
    """Every model with its latest version and the version in each stage."""
    if remote is not None:
        if model is not None or metrics:
            raise InputError(
                "--remote lists models only: `history MODEL --remote URL` for a model's "
                "versions and stages, `show MODEL --remote URL` for one version"
            )
        found = modelgit.list_remote(remote)
        echo(render.models_json(found) if as_json else render.models_table(found, output.look()))
        return
    if model is not None:
        _versions(model, as_json, repo)
        return
    models = modelgit.list(repo, metrics=metrics)
    echo(render.models_json(models) if as_json else render.models_table(models, output.look()))


def _versions(model: str | None, as_json: bool, repo: Path) -> None:
    rows = modelgit.list_versions(repo, model)
    echo(render.to_json(rows) if as_json else render.versions_table(rows, output.look()))


@app.command(
    epilog=examples("modelgit show churn#production", "modelgit show churn@v1.2.0 --yaml"),
)
@funnel
def show(
    reference: Reference = None,
    yaml: Annotated[
        bool, typer.Option("--yaml", help="Add the whole metadata document, as YAML.")
    ] = False,
    versions: Annotated[
        bool, typer.Option("--versions", help="List the model's versions instead (as `list`).")
    ] = False,
    as_json: JsonOption = False,
    remote: RemoteOption = None,
    repo: RepoOption = Path(),
) -> None:
    """One version for people: commit, stages, when, why, key metrics, size, proof."""
    if remote is not None and versions:
        raise InputError("--remote shows one version; `history MODEL --remote URL` lists them")
    if versions:
        _versions(reference.split("@")[0].split("#")[0] if reference else None, as_json, repo)
        return
    info = modelgit.show_remote(remote, reference) if remote else modelgit.show(repo, reference)
    if as_json:
        echo(render.version_json(info))
        return
    if info.problem:
        shown = "the tag and its commit say" if info.derived else "the tag says"
        warn(f"{info.problem}; showing what {shown}")
    echo(render.version_text(info, output.look(), metadata=yaml))


@app.command(
    epilog=examples("modelgit history churn", "modelgit history --metrics --metric accuracy"),
)
@funnel
def history(
    model: ModelArgument = None,
    metrics: Annotated[
        bool, typer.Option("--metrics", help="List versions with metric columns instead.")
    ] = False,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric", metavar="NAME", help="With --metrics: only this metric (repeatable)."
        ),
    ] = None,
    as_json: JsonOption = False,
    remote: RemoteOption = None,
    repo: RepoOption = Path(),
) -> None:
    """Registrations and stage moves of a model, newest first (or its metrics per version)."""
    look = output.look()
    if remote is not None:
        if metrics or metric:
            raise InputError("--metrics needs the tag messages: use `show --remote` per version")
        entries = modelgit.history_remote(remote, model)
        echo(render.to_json(entries) if as_json else render.history_table(entries, look))
        return
    if metrics or metric:
        rows = modelgit.metric_history(repo, model, metric or None)
        echo(render.to_json(rows) if as_json else render.metric_history_table(rows, look))
        return
    entries = modelgit.history(repo, model)
    echo(render.to_json(entries) if as_json else render.history_table(entries, look))


@app.command(epilog=examples("modelgit changelog churn", "modelgit changelog --md > CHANGELOG.md"))
@funnel
def changelog(
    model: ModelArgument = None,
    md: Annotated[bool, typer.Option("--md", help="Markdown, e.g. for CHANGELOG.md.")] = False,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Every version newest first: date, bump level and reasons, metric and param changes."""
    entries = modelgit.changelog(repo, model)
    if as_json:
        echo(render.changelog_json(entries))
        return
    echo(render.changelog(entries, markdown=md, look=output.look()))


@app.command(
    epilog=examples(
        "modelgit diff churn@v1.2.0 churn@v1.3.0",
        "modelgit diff churn#production --fail-on 'accuracy<-0.01'",
    )
)
@funnel
def diff(
    a: Annotated[
        str | None,
        typer.Argument(
            metavar="[OLD]",
            show_default=False,
            autocompletion=complete_reference,
            help="Old side: MODEL@vX.Y.Z, MODEL#stage, MODEL (its latest version), a git "
            "revision or workspace (default: the latest version).",
        ),
    ] = None,
    b: Annotated[
        str | None,
        typer.Argument(
            metavar="[NEW]",
            show_default=False,
            autocompletion=complete_reference,
            help="New side, same forms (default: the workspace).",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", metavar="MODEL", help="Compare this model (default: every one)."),
    ] = None,
    md: Annotated[bool, typer.Option("--md", help="GitHub Markdown for a PR comment.")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="Show unchanged rows too.")] = False,
    fail_on: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-on",
            metavar="RULE",
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
    look = output.look()
    if as_json:
        echo(render.diff_json(result))
    elif md:
        body = "\n".join(render.markdown(c, show_all) for c in comparisons)
        echo(body + ("\n" + render.gates_markdown(gates) if gates else ""))
    else:
        echo("\n".join(render.text(c, show_all, look) for c in comparisons))
        if gates:
            echo(render.gates_text(gates))
    if result.failed:
        raise GateFailedError(render.gate_failures(gates))


class GraphFormat(str, enum.Enum):
    """How `lineage` prints the graph."""

    TREE = "tree"
    DOT = "dot"
    MERMAID = "mermaid"
    JSON = "json"


@app.command(
    epilog=examples("modelgit lineage churn#production", "modelgit lineage -f dot | dot -Tsvg")
)
@funnel
def lineage(
    reference: Reference = None,
    graph_format: Annotated[
        GraphFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="tree, dot, mermaid or json (default: tree, built-in).",
        ),
    ] = GraphFormat.TREE,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Everything upstream of a model version: stages, params, data, parent models."""
    from modelgit.cli import graph

    found = modelgit.lineage(repo, reference)
    if as_json or graph_format is GraphFormat.JSON:
        echo(graph.lineage_json(found))
        return
    if graph_format is GraphFormat.DOT:
        echo(graph.dot(found.graph))
    elif graph_format is GraphFormat.MERMAID:
        echo(graph.mermaid(found.graph))
    else:
        echo(graph.tree(found.graph, found.node))
        if found.parents:
            echo(f"parents: {', '.join(found.parents)}\n")
    for problem in found.problems:
        warn(problem)


@app.command(epilog=examples("modelgit impact data/raw.csv", "modelgit impact train.C --json"))
@funnel
def impact(
    target: Annotated[
        str,
        typer.Argument(
            metavar="PATH|STAGE|PARAM",
            help="A data path, a stage name, or a param (train.lr, params.yaml:train.lr).",
        ),
    ],
    rev: Annotated[
        str | None,
        typer.Option(
            "--rev",
            metavar="REV",
            help="Read the pipeline at this git revision (default: the work tree).",
        ),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """Which models (and their production/staging versions) and stages a change would reach."""
    result = modelgit.impact(repo, target, rev)
    echo(render.to_json(result) if as_json else render.impact_text(target, result))


@app.command(epilog=examples("modelgit config", "modelgit config --json"))
@funnel
def config(as_json: JsonOption = False, repo: RepoOption = Path()) -> None:
    """The settings in effect, and where each comes from: .modelgit.yaml or built-in."""
    settings = modelgit.config(repo)
    echo(render.to_json(settings) if as_json else render.settings_table(settings, output.look()))
