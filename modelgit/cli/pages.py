"""Commands that write pages for people: `card` and `site`."""

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
from modelgit.errors import InputError

# A site of fewer pages is built before a bar would be worth drawing.
SITE_BAR_PAGES = 500


@app.command(
    epilog=examples(
        "modelgit card churn#production",
        "modelgit card churn@v1.0.0 --html -o card.html",
    )
)
@funnel
def card(
    reference: Reference = None,
    html: Annotated[bool, typer.Option("--html", help="A standalone HTML page.")] = False,
    md: Annotated[bool, typer.Option("--md", help="Markdown (built-in default).")] = False,
    out: Annotated[
        str | None,  # text, not a Path: an empty FILE must be refused, not read as "."
        typer.Option("--out", "-o", metavar="FILE", help="Write to FILE instead of stdout."),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """A model card: metrics against the previous and production versions, params, data,
    lineage, schema, environment, trust; a major version adds a migration guide."""
    if html + md + as_json > 1:
        raise InputError("choose one of --md, --html and --json")
    found = modelgit.card(repo, reference)
    if as_json and out is None:
        echo(render.to_json(found))
    elif as_json:
        echo(f"wrote {modelgit.write_card(found, out, json_text=render.to_json(found))}\n")
    elif out is None:
        echo(modelgit.card_html(found) if html else modelgit.card_markdown(found))
    else:
        echo(f"wrote {modelgit.write_card(found, out, html=html)}\n")


@app.command(epilog=examples("modelgit site", "modelgit site -o public --title 'Our models'"))
@funnel
def site(
    out: Annotated[
        str,  # text, not a Path: an empty DIR must be refused, not read as "."
        typer.Option(
            "--out", "-o", metavar="DIR", help="Folder to build into (default: _site, built-in)."
        ),
    ] = "_site",
    title: Annotated[
        str | None,
        typer.Option(help="The index page's heading (default: the repository's name, built-in)."),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Processes that build pages (default: one per core for 1,000+ versions).",
        ),
    ] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path(),
) -> None:
    """A static web site of the registry (works from file:// and any static host, no script);
    a rebuild rewrites only pages whose content changed."""
    with render.progress_bar(progress_wanted(), SITE_BAR_PAGES, counting=True) as progress:
        result = modelgit.site(repo, out, title=title, progress=progress, jobs=jobs)
    if as_json:
        echo(render.to_json(result))
        return
    removed = f", {len(result.removed)} removed" if result.removed else ""
    models = f"{result.models} model{'s' if result.models != 1 else ''}"
    versions = f"{result.versions} version{'s' if result.versions != 1 else ''}"
    if result.deprecated:
        versions += f" ({result.deprecated} deprecated)"
    echo(
        f"{result.out}/index.html: {models}, {versions}; "
        f"{len(result.written)} of {result.pages} pages written, {result.unchanged} "
        f"unchanged{removed} ({result.seconds:.1f} s)\n"
    )
