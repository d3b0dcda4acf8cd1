"""The static registry site: an index, a page per model and per version, and lineage, as HTML
files that work from `file://` or any static host (relative links, no script, SVG charts)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from modelgit.pages.cards import CardLineage, ModelCard
from modelgit.pages.charts import dag_svg, line_chart, sparkline
from modelgit.pages.html import STYLE, card_body, document, table
from modelgit.pages.text import counted, escape, shown
from modelgit.values import is_number

STYLESHEET = "style.css"
MAX_CHARTS = 6
# The timeline's events that retire something: a version's deregistration, the deprecation.
_RETIRING = ("deregistration", "deprecation")
_DEPRECATED_MARK = ' <strong class="deprecated">DEPRECATED</strong>'


@dataclass(frozen=True)
class SiteEvent:
    """One line of a model's stage timeline."""

    when: str
    tag: str
    action: str
    stage: str | None
    version: str | None
    deprecated: bool = False  # an event of a version deprecated since (its `!` tag too)


@dataclass(frozen=True)
class SiteModel:
    """One model as the site shows it: every version's card, its stages and its history."""

    name: str
    description: str
    cards: tuple[ModelCard, ...]  # every registered version, deprecated ones too, oldest first
    stages: dict[str, str | None]  # stage -> version it holds now, in promotion order
    events: tuple[SiteEvent, ...]  # newest first
    key_metric: str | None
    deprecated: bool = False
    created: dict[str, str] = field(default_factory=dict)  # version -> created_at


@dataclass(frozen=True)
class IndexEntry:
    """What the front page shows of one model."""

    name: str
    deprecated: bool
    latest: str | None
    stages: dict[str, str | None]
    key_metric: str | None
    key_values: tuple[float, ...]
    versions: int  # registered, deprecated ones included
    deprecated_versions: int = 0


def _active(model: SiteModel) -> list[ModelCard]:
    """The versions not deprecated: the latest, the charts and the key metric are theirs."""
    return [card for card in model.cards if not card.version_deprecated]


def index_entry(model: SiteModel) -> IndexEntry:
    """The front page's row of a model."""
    active = _active(model)
    return IndexEntry(
        name=model.name,
        deprecated=model.deprecated,
        latest=str(active[-1].version) if active else None,
        stages=model.stages,
        key_metric=model.key_metric,
        key_values=tuple(value for _, value in _key_values(model)),
        versions=len(model.cards),
        deprecated_versions=len(model.cards) - len(active),
    )


def slug(model: str) -> str:
    """A file-system-safe, readable folder name for a model (`nlp:intent` -> `nlp_intent`)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model)


def _nav(prefix: str, model: str | None = None) -> str:
    links = [f'<a href="{prefix}index.html">All models</a>']
    if model is not None:
        folder = f"{prefix}models/{slug(model)}/"
        links.append(f'<a href="{folder}index.html">{escape(model)}</a>')
        links.append(f'<a href="{folder}lineage.html">Lineage</a>')
    return f'<nav aria-label="site">{"".join(links)}</nav>'


def _key_values(model: SiteModel) -> list[tuple[str, float]]:
    values = []
    for card in _active(model):
        value = (card.metadata.get("metrics") or {}).get(model.key_metric or "")
        if is_number(value):
            values.append((f"v{card.version}", float(value)))
    return values


def index_page(models: list[IndexEntry], title: str) -> str:
    """The front page: every model, its latest version, each stage's version, its key metric."""
    stage_names: list[str] = []
    for model in models:
        stage_names += [s for s in model.stages if s not in stage_names]
    rows = []
    for model in models:
        folder = f"models/{slug(model.name)}/"
        name = f'<a href="{folder}index.html">{escape(model.name)}</a>'
        if model.deprecated:
            name += ' <strong class="deprecated">DEPRECATED</strong>'
        latest = escape(model.latest) if model.latest else ""
        latest_cell = f'<a href="{folder}v{latest}.html">v{latest}</a>' if model.latest else "-"
        stage_cells = []
        for stage in stage_names:
            held = model.stages.get(stage)
            stage_cells.append(
                f'<a href="{folder}v{escape(held)}.html">v{escape(held)}</a>' if held else "-"
            )
        series = model.key_values
        metric = "-"
        if series and model.key_metric:
            metric = (
                f"{escape(model.key_metric)} {escape(shown(series[-1]))} "
                f"{sparkline(series, f'{model.name} {model.key_metric}')}"
            )
        rows.append([name, latest_cell, *stage_cells, metric])
    deprecated = sum(m.deprecated_versions for m in models)
    body = (
        f"<h1>{escape(title)}</h1><p>{counted(len(models), 'model')}, "
        f"{counted(sum(m.versions for m in models), 'version')}"
        f"{f' ({deprecated} deprecated)' if deprecated else ''}.</p>"
        + table("Models", ["model", "latest", *stage_names, "key metric"], rows)
    )
    return document(title, body, STYLESHEET, _nav(""))


def _version_cell(event: SiteEvent) -> str:
    if not event.version:
        return "-"
    return f"v{escape(str(event.version))}{_DEPRECATED_MARK if event.deprecated else ''}"


def _metric_charts(model: SiteModel) -> str:
    names: list[str] = []
    active = _active(model)
    for card in active:
        for name, value in (card.metadata.get("metrics") or {}).items():
            if is_number(value) and name not in names:
                names.append(name)
    if model.key_metric in names:
        names.remove(model.key_metric)
        names.insert(0, model.key_metric)
    charts = []
    for name in names[:MAX_CHARTS]:
        points = [
            (f"v{card.version}", float(value))
            for card in active
            if is_number(value := (card.metadata.get("metrics") or {}).get(name))
        ]
        charts.append(f"<figure>{line_chart(points, f'{name} by version')}</figure>")
    return "".join(charts) or "<p>No numeric metrics recorded.</p>"


def model_page(model: SiteModel) -> str:
    """A model's page: versions, stage timeline, metric history and the latest card."""
    holders: dict[str, list[str]] = {}
    for stage, version in model.stages.items():
        if version:
            holders.setdefault(version, []).append(stage)
    rows = []
    for card in reversed(model.cards):
        key = (card.metadata.get("metrics") or {}).get(model.key_metric or "")
        link = f'<a href="v{escape(str(card.version))}.html">v{escape(str(card.version))}</a>'
        if card.version_deprecated:
            why = f": {escape(card.deprecation_reason)}" if card.deprecation_reason else ""
            link += f"{_DEPRECATED_MARK}{why}"
        rows.append(
            [
                link,
                escape(model.created.get(str(card.version), "-")),
                escape(", ".join(holders.get(str(card.version), [])) or "-"),
                escape(str((card.metadata.get("bump") or {}).get("level", "-"))),
                escape(shown(key)) if key is not None else "-",
            ]
        )
    key_header = model.key_metric or "key metric"
    timeline = [
        [
            escape(e.when),
            f"<code>{escape(e.tag)}</code>",
            f'<strong class="deprecated">{escape(e.action)}</strong>'
            if e.action in _RETIRING
            else escape(e.action),
            escape(e.stage or "-"),
            _version_cell(e),
        ]
        for e in model.events
    ]
    parts = [f"<h1>{escape(model.name)}</h1>"]
    if model.description:
        parts.append(f"<p>{escape(model.description)}</p>")
    if model.deprecated:
        parts.append('<p><strong class="deprecated">DEPRECATED</strong></p>')
    parts.append("<h2>Metric history</h2>" + _metric_charts(model))
    parts.append("<h2>Versions</h2>")
    parts.append(
        table(
            "Versions, newest first",
            ["version", "created", "stages", "bump", key_header],
            rows,
            (4,),
        )
    )
    parts.append("<h2>Stage timeline</h2>")
    parts.append(
        table(
            "Registry events, newest first", ["when", "tag", "event", "stage", "version"], timeline
        )
    )
    active = _active(model)
    if active:
        parts.append('<h2>Latest version</h2><div class="card">')
        parts.append(card_body(active[-1], heading_level=3) + "</div>")
    return document(model.name, "".join(parts), f"../../{STYLESHEET}", _nav("../../", model.name))


def _diff(previous: ModelCard | None, card: ModelCard) -> str:
    if previous is None:
        return "<p>The first version: nothing to compare with.</p>"
    rows = []
    for section in ("metrics", "params"):
        old = previous.metadata.get(section) or {}
        new = card.metadata.get(section) or {}
        for name in [*old, *(k for k in new if k not in old)]:
            if old.get(name) != new.get(name):
                rows.append(
                    [
                        escape(section[:-1]),
                        escape(name),
                        escape(shown(old.get(name))),
                        escape(shown(new.get(name))),
                    ]
                )
    old_md5 = (previous.metadata.get("artifact") or {}).get("md5")
    new_md5 = (card.metadata.get("artifact") or {}).get("md5")
    if old_md5 != new_md5:
        rows.append(
            [
                "artifact",
                "md5",
                f"<code>{escape(str(old_md5))}</code>",
                f"<code>{escape(str(new_md5))}</code>",
            ]
        )
    old_data = {
        d.get("path"): d.get("md5")
        for d in previous.metadata.get("data") or []
        if isinstance(d, dict)
    }
    new_data = {
        d.get("path"): d.get("md5") for d in card.metadata.get("data") or [] if isinstance(d, dict)
    }
    for path in sorted(set(old_data) | set(new_data), key=str):
        if old_data.get(path) != new_data.get(path):
            rows.append(
                [
                    "data",
                    escape(str(path)),
                    escape(str(old_data.get(path, "-"))),
                    escape(str(new_data.get(path, "-"))),
                ]
            )
    if not rows:
        since = escape(str(previous.version))
        return f"<p>No metric, param, data or artifact change since v{since}.</p>"
    return table(
        f"Changes since v{previous.version}",
        ["kind", "name", f"v{previous.version}", f"v{card.version}"],
        rows,
    )


def version_page(model: SiteModel, index: int) -> str:
    """A version's page: its card and what changed since the version before it."""
    card = model.cards[index]
    # The version the card compares with (its metadata's `previous`, even when deprecated since);
    # versions sort, so it is found among the cards below this one, nearest first.
    previous = None
    if card.previous_version is not None:
        wanted = card.previous_version
        previous = next(
            (model.cards[i] for i in range(index - 1, -1, -1) if model.cards[i].version == wanted),
            None,
        )
    body = (
        card_body(card)
        + f"<h2>Diff against {('v' + str(previous.version)) if previous else 'nothing'}</h2>"
        + _diff(previous, card)
    )
    return document(
        f"{model.name} v{card.version}", body, f"../../{STYLESHEET}", _nav("../../", model.name)
    )


def lineage_page(model: str, graph: CardLineage) -> str:
    """The model's lineage graph (as HEAD's pipeline has it, else its latest version's)."""
    layers = [[node.label for node in layer] for layer in graph.layers]
    labels = {node.id: node.label for layer in graph.layers for node in layer}
    edges = [(labels[a], labels[b]) for a, b in graph.edges if a in labels and b in labels]
    items = "".join(
        f"<li>{escape(labels[a])} → {escape(labels[b])}</li>"
        for a, b in graph.edges
        if a in labels and b in labels
    )
    body = (
        f"<h1>Lineage of {escape(model)}</h1>"
        f"<figure>{dag_svg(layers, edges, f'Lineage of {model}')}</figure>"
        f"<h2>Edges</h2><ul>{items}</ul>"
    )
    return document(f"{model} lineage", body, f"../../{STYLESHEET}", _nav("../../", model))


def model_folder(model: str) -> str:
    """The folder of a model's pages, relative to the site."""
    return f"models/{slug(model)}/"


def version_file(model: str, version: str) -> str:
    """A version page's path, relative to the site."""
    return f"{model_folder(model)}v{version}.html"


def style_sheet() -> str:
    """The one stylesheet every page links."""
    return STYLE + "\n"
