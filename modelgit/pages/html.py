"""HTML for people: the model card and the pieces every site page shares. No script, no CDN."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from modelgit.pages.cards import CARD_MARKER, ModelCard, bump_text, deprecation_text, verdict
from modelgit.pages.charts import dag_svg
from modelgit.pages.text import escape, plain, shown, size

STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem 2rem}
nav{margin-bottom:1rem}nav a{margin-right:1rem}
table{border-collapse:collapse;margin:.5rem 0 1.2rem}caption{text-align:left;font-weight:600}
th,td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;vertical-align:top}
thead th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:90%}.better{color:#1a7f37}.worse{color:#cf222e}.deprecated{color:#9a6700}
.spark{color:#1f6feb;vertical-align:middle}svg text{font:11px system-ui,sans-serif}
.chart-title{font-weight:600}figure{display:inline-block;margin:0 1rem 1rem 0}
.stage{background:#ddf4ff;border-radius:1rem;padding:0 .5rem}
p.deprecated{background:#fff8c5;border:1px solid #d4a72c;border-radius:.3rem;color:#7d4e00;
padding:.4rem .8rem}
""".strip()

_MARKS = {"better": "✓", "worse": "✗", "same": "=", "": ""}


def table(
    caption: str, header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = ()
) -> str:
    """A semantic table: caption, column headers, and cells already escaped (HTML)."""
    if numeric:
        body = "".join(
            "<tr>"
            + "".join(
                f'<td class="num">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
                for i, cell in enumerate(row)
            )
            + "</tr>"
            for row in rows
        )
    else:  # most tables: joined in C
        body = "".join("<tr><td>" + "</td><td>".join(row) + "</td></tr>" for row in rows)
    return f"{_table_head(caption, tuple(header))}<tbody>{body}</tbody></table>"


@functools.lru_cache(maxsize=4096)
def _table_head(caption: str, header: tuple[str, ...]) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in header)
    return f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"


def document(title: str, body: str, stylesheet: str | None, nav: str = "") -> str:
    """A whole HTML page: a linked stylesheet (site pages) or an inline one (a lone card)."""
    style = (
        f'<link rel="stylesheet" href="{escape(stylesheet)}">'
        if stylesheet
        else f"<style>{STYLE}</style>"
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>{style}</head><body>"
        f"{nav}<main>{body}</main></body></html>\n"
    )


def _compared(value: Any, mark: str) -> str:
    if value is None:
        return "-"
    if not mark or mark == "same":
        return escape(shown(value))
    return f'<span class="{mark}">{escape(shown(value))} {_MARKS[mark]}</span>'


def _summary(card: ModelCard) -> str:
    document_ = card.metadata
    artifact = document_.get("artifact") or {}
    stages = " ".join(f'<span class="stage">{escape(s)}</span>' for s in card.stages) or "none"
    rows = [
        ("Tag", f"<code>{escape(card.tag)}</code>"),
        ("Commit", f"<code>{escape(card.commit[:12])}</code>"),
        (
            "Created",
            f"{escape(str(document_.get('created_at', '-')))} by "
            f"{escape(str(document_.get('created_by', '-')))}",
        ),
        ("Bump", escape(bump_text(card))),
        (
            "Artifact",
            f"<code>{escape(str(artifact.get('path', '-')))}</code> "
            f"({escape(size(artifact.get('size')))}, md5 <code>"
            f"{escape(str(artifact.get('md5', '-')))}</code>)",
        ),
        ("Stages", stages),
        ("Signature", escape(card.signature)),
    ]
    if card.deprecated:
        why = f" ({escape(card.deprecation_reason)})" if card.deprecation_reason else ""
        rows.append(("Status", f'<strong class="deprecated">DEPRECATED</strong>{why}'))
    if card.labels:
        rows.append(("Labels", escape(", ".join(card.labels))))
    cells = "".join(f'<tr><th scope="row">{k}</th><td>{v}</td></tr>' for k, v in rows)
    return f"<table><caption>Summary</caption><tbody>{cells}</tbody></table>"


def _metrics(card: ModelCard) -> str:
    if not card.metrics:
        return "<p>No metrics recorded.</p>"
    previous = f"previous (v{card.previous_version})" if card.previous_version else "previous"
    production = (
        f"{card.production_stage} (v{card.production_version})"
        if card.production_version
        else card.production_stage or "production"
    )
    rows = [
        [
            escape(row.name),
            escape(shown(row.value)),
            escape(
                {"higher": "higher is better", "lower": "lower is better"}.get(
                    row.direction or "", "-"
                )
            ),
            _compared(row.previous, verdict(row, row.previous)),
            _compared(row.production, verdict(row, row.production)),
        ]
        for row in card.metrics
    ]
    return table(
        "Metrics (✓ this version is better, ✗ worse)",
        ["metric", "value", "direction", previous, production],
        rows,
        numeric=(1,),
    )


def _schema(card: ModelCard) -> str:
    signature = card.metadata.get("schema_signature") or {}
    parts = []
    for kind in ("inputs", "outputs"):
        items = signature.get(kind) if isinstance(signature, dict) else None
        if items:
            rows = [
                [escape(str(i.get("name"))), escape(str(i.get("type", "-")))]
                if isinstance(i, dict)
                else [escape(str(i)), "-"]
                for i in items
            ]
            parts.append(table(kind.capitalize(), ["name", "type"], rows))
    if not parts and card.metadata.get("features"):
        parts.append(
            table("Features", ["feature"], [[escape(str(f))] for f in card.metadata["features"]])
        )
    return "".join(parts) or "<p>No schema declared.</p>"


def inline_code(text: str) -> str:
    """Text whose Markdown code spans (`name`) become `<code>`, everything escaped; an
    unpaired backtick stays as it is.

    >>> inline_code("feature `a<b>` was removed, 1` left")
    'feature <code>a&lt;b&gt;</code> was removed, 1` left'
    """
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an odd number of backticks: the last one pairs with nothing
        parts[-2:] = [f"{parts[-2]}`{parts[-1]}"]
    return "".join(
        f"<code>{escape(part)}</code>" if i % 2 else escape(part) for i, part in enumerate(parts)
    )


def _migration(card: ModelCard) -> str:
    items = "".join(f"<li>{inline_code(note.text)}</li>" for note in card.migration) or (
        "<li>No input or output changed.</li>"
    )
    commits = "".join(
        f"<li><code>{escape(c.sha[:12])}</code> {inline_code(c.subject)}</li>"
        for c in card.breaking_commits
    )
    extra = f"<p>Breaking commits:</p><ul>{commits}</ul>" if commits else ""
    return (
        f"<section><h2>Migration guide: v{escape(str(card.previous_version))} → "
        f"v{escape(str(card.version))}</h2><ul>{items}</ul>{extra}</section>"
    )


def card_body(card: ModelCard, heading_level: int = 1) -> str:
    """The card as an HTML fragment (a site page embeds it; `card --html` wraps it)."""
    h = f"h{heading_level}"
    sub = f"h{heading_level + 1}"
    document_ = card.metadata
    parts = [f"<{h}>{escape(card.model)} v{escape(str(card.version))}</{h}>"]
    if card.deprecated:
        parts.append(
            '<p class="deprecated" role="note"><strong>DEPRECATED</strong>: '
            f"{escape(deprecation_text(card))}</p>"
        )
    if card.description:
        parts.append(f"<p>{escape(card.description)}</p>")
    parts.append(_summary(card))
    if card.is_major:
        parts.append(_migration(card))
    reasons = (document_.get("bump") or {}).get("reasons") or []
    if reasons:
        items = "".join(f"<li>{escape(str(r))}</li>" for r in reasons)
        parts.append(f"<{sub}>Why this version</{sub}><ul>{items}</ul>")
    parts.append(f"<{sub}>Metrics</{sub}>{_metrics(card)}")
    params = document_.get("params") or {}
    parts.append(f"<{sub}>Params</{sub}>")
    parts.append(
        table(
            "Params",
            ["param", "value"],
            [[escape(str(k)), escape(plain(v))] for k, v in params.items()],
            (1,),
        )
        if params
        else "<p>No params recorded.</p>"
    )
    data = [d for d in document_.get("data") or [] if isinstance(d, dict)]
    parts.append(f"<{sub}>Data</{sub}>")
    parts.append(
        table(
            "DVC-tracked data",
            ["path", "md5", "size"],
            [
                [
                    f"<code>{escape(str(d.get('path')))}</code>",
                    f"<code>{escape(str(d.get('md5', '-')))}</code>",
                    escape(size(d.get("size"))),
                ]
                for d in data
            ],
        )
        if data
        else "<p>No DVC-tracked data recorded.</p>"
    )
    layers = [[node.label for node in layer] for layer in card.lineage.layers]
    labels = {node.id: node.label for layer in card.lineage.layers for node in layer}
    edges = [(labels[a], labels[b]) for a, b in card.lineage.edges if a in labels and b in labels]
    parts.append(f"<{sub}>Lineage</{sub}>")
    parts.append(
        f"<figure>{dag_svg(layers, edges, f'Lineage of {card.model} v{card.version}')}"
        f"<figcaption>What v{escape(str(card.version))} was built from, left to right."
        "</figcaption></figure>"
    )
    parts.append(f"<{sub}>Features and schema</{sub}>{_schema(card)}")
    environment = document_.get("environment") or {}
    if environment:
        packages = environment.get("packages") or {}
        parts.append(
            f"<{sub}>Environment</{sub}><p>Python {escape(str(environment.get('python', '-')))}</p>"
        )
        if packages:
            parts.append(
                table(
                    "Packages",
                    ["package", "version"],
                    [[escape(str(k)), escape(str(v))] for k, v in packages.items()],
                )
            )
    if card.meta:
        parts.append(f"<{sub}>Declared meta</{sub}>")
        parts.append(
            table(
                "Meta",
                ["key", "value"],
                [[escape(str(k)), escape(plain(v))] for k, v in card.meta.items()],
            )
        )
    return "".join(parts)


def card_html(card: ModelCard) -> str:
    """The card as a standalone HTML page."""
    page = document(f"{card.model} v{card.version}", card_body(card), stylesheet=None)
    return f"{CARD_MARKER}\n{page}"
