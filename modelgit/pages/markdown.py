"""A model card as Markdown: what GitHub and GitLab render in a README, a PR or a wiki."""

from __future__ import annotations

from typing import Any

from modelgit.pages.cards import (
    CARD_MARKER,
    CardLineage,
    ModelCard,
    bump_text,
    deprecation_text,
    verdict,
)
from modelgit.pages.text import plain, size
from modelgit.values import format_value

_MARKS = {"better": " ✓", "worse": " ✗", "same": "", "": ""}
_MERMAID_SHAPES = {
    "stage": ("[", "]"),
    "file": ("[(", ")]"),
    "param": ("([", "])"),
    "model": ("{{", "}}"),
}


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def mermaid(graph: CardLineage) -> str:
    """The lineage as a Mermaid flowchart (GitHub renders ```mermaid blocks)."""
    ids: dict[str, str] = {}
    lines = ["flowchart LR"]
    for layer in graph.layers:
        for node in layer:
            ids[node.id] = f"n{len(ids)}"
            opening, closing = _MERMAID_SHAPES.get(node.kind, ("[", "]"))
            lines.append(
                f'    {ids[node.id]}{opening}"{node.label.replace(chr(34), "#quot;")}"{closing}'
            )
    lines += [f"    {ids[a]} --> {ids[b]}" for a, b in graph.edges if a in ids and b in ids]
    return "\n".join(lines) + "\n"


def _compared(value: Any, against: Any, mark: str) -> str:
    if against is None:
        return "-"
    return f"{format_value(against)}{_MARKS[mark]}"


def _summary(card: ModelCard) -> list[str]:
    document = card.metadata
    artifact = document.get("artifact") or {}
    rows = [
        ["Tag", f"`{card.tag}`"],
        ["Commit", f"`{card.commit[:12]}`"],
        ["Created", f"{document.get('created_at', '-')} by {document.get('created_by', '-')}"],
        ["Bump", bump_text(card)],
        [
            "Artifact",
            f"`{artifact.get('path', '-')}` ({size(artifact.get('size'))}, md5 "
            f"`{artifact.get('md5', '-')}`)",
        ],
        ["Stages", ", ".join(card.stages) or "none"],
        ["Signature", card.signature],
    ]
    if card.deprecated:
        why = f" ({card.deprecation_reason})" if card.deprecation_reason else ""
        rows.append(["Status", f"**DEPRECATED**{why}"])
    if card.labels:
        rows.append(["Labels", ", ".join(card.labels)])
    return _table(["", ""], rows)


def _metrics(card: ModelCard) -> list[str]:
    if not card.metrics:
        return ["No metrics recorded.", ""]
    previous = f"previous (v{card.previous_version})" if card.previous_version else "previous"
    production = (
        f"{card.production_stage} (v{card.production_version})"
        if card.production_version
        else card.production_stage or "production"
    )
    rows = []
    for row in card.metrics:
        direction = {"higher": "higher is better", "lower": "lower is better"}.get(
            row.direction or "", "-"
        )
        rows.append(
            [
                row.name,
                format_value(row.value),
                direction,
                _compared(row.value, row.previous, verdict(row, row.previous)),
                _compared(row.value, row.production, verdict(row, row.production)),
            ]
        )
    return _table(["metric", "value", "direction", previous, production], rows)


def _schema(card: ModelCard) -> list[str]:
    signature = card.metadata.get("schema_signature") or {}
    lines: list[str] = []
    for kind in ("inputs", "outputs"):
        items = signature.get(kind) if isinstance(signature, dict) else None
        if items:
            lines.append(f"**{kind.capitalize()}**")
            lines.append("")
            lines += _table(
                ["name", "type"],
                [
                    [i.get("name"), i.get("type", "-")] if isinstance(i, dict) else [i, "-"]
                    for i in items
                ],
            )
    if not lines and card.metadata.get("features"):
        lines += _table(["feature"], [[f] for f in card.metadata["features"]])
    return lines or ["No schema declared.", ""]


def _migration(card: ModelCard) -> list[str]:
    lines = [f"## Migration guide: v{card.previous_version} → v{card.version}", ""]
    if card.migration:
        lines += [f"- {note.text}" for note in card.migration]
    else:
        lines.append("- No input or output changed.")
    if card.breaking_commits:
        lines += ["", "Breaking commits:", ""]
        lines += [f"- `{c.sha[:12]}` {c.subject}" for c in card.breaking_commits]
    return [*lines, ""]


def card_markdown(card: ModelCard) -> str:
    """The whole card as one Markdown document."""
    document = card.metadata
    lines = [CARD_MARKER, f"# {card.model} v{card.version}", ""]
    if card.deprecated:
        lines += [f"> **DEPRECATED**: {deprecation_text(card)}", ""]
    if card.description:
        lines += [card.description, ""]
    lines += _summary(card)
    if card.is_major:
        lines += _migration(card)
    reasons = (document.get("bump") or {}).get("reasons") or []
    if reasons:
        lines += ["## Why this version", "", *[f"- {r}" for r in reasons], ""]
    lines += ["## Metrics", "", *_metrics(card)]
    params = document.get("params") or {}
    lines += ["## Params", ""]
    lines += (
        _table(["param", "value"], [[k, plain(v)] for k, v in params.items()])
        if params
        else ["No params recorded.", ""]
    )
    data = [d for d in document.get("data") or [] if isinstance(d, dict)]
    lines += ["## Data", ""]
    lines += (
        _table(
            ["path", "md5", "size"],
            [[d.get("path"), d.get("md5", "-"), size(d.get("size"))] for d in data],
        )
        if data
        else ["No DVC-tracked data recorded.", ""]
    )
    lines += ["## Lineage", "", "```mermaid", mermaid(card.lineage).rstrip(), "```", ""]
    lines += ["## Features and schema", "", *_schema(card)]
    environment = document.get("environment") or {}
    if environment:
        packages = environment.get("packages") or {}
        lines += ["## Environment", "", f"Python {environment.get('python', '-')}", ""]
        if packages:
            lines += _table(["package", "version"], [[k, v] for k, v in packages.items()])
    if card.meta:
        lines += ["## Declared meta", ""]
        lines += _table(["key", "value"], [[k, plain(v)] for k, v in card.meta.items()])
    return "\n".join(lines).rstrip() + "\n"
