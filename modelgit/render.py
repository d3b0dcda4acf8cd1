"""Comparisons as plain text (terminal) and GitHub-flavoured Markdown (PR comments). Pure."""

from __future__ import annotations

from typing import Any

from modelgit.comparing import ChangelogEntry
from modelgit.comparison import Comparison, MetricChange
from modelgit.gates import GateResult

_ICON = {"better": "✅", "worse": "❌"}


def _value(value: Any) -> str:
    if value is None:
        return "-"
    text = str(value)
    return f"{value:.6g}" if isinstance(value, float) and len(text) > 12 else text


def _change(metric: MetricChange) -> str:
    if metric.diff is None:
        return metric.verdict if metric.verdict in ("added", "removed") else "-"
    text = f"{metric.diff:+.4g}"
    if metric.relative is not None:
        text += f" ({metric.relative * 100:+.1f}%)"
    return text


def _side(label: str, commit: str | None) -> str:
    return f"{label} ({commit[:12]})" if commit and commit[:12] not in label else label


def headline(comparison: Comparison) -> str:
    """`accuracy 0.931 -> 0.945 (+1.5%) ✅` for the key metric, or what else changed."""
    if not comparison.a.exists:
        return f"{comparison.model} is new at {comparison.b.label}"
    if not comparison.b.exists:
        return f"{comparison.model} does not exist at {comparison.b.label}"
    numeric = [m for m in comparison.metrics if m.diff is not None or m.verdict == "unchanged"]
    key = next((m for m in numeric if m.direction), numeric[0] if numeric else None)
    if key is None:
        return "no metrics to compare"
    line = f"{key.name} {_value(key.old)} -> {_value(key.new)}"
    if key.relative is not None:
        line += f" ({key.relative * 100:+.1f}%)"
    return f"{line} {_ICON.get(key.verdict, '')}".rstrip()


def _rows(table: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]


def text(comparison: Comparison, show_all: bool = False) -> str:
    """A terminal rendering; unchanged rows are hidden unless `show_all`."""
    lines = [
        f"{comparison.model}: {_side(comparison.a.label, comparison.a.commit)} -> "
        f"{_side(comparison.b.label, comparison.b.commit)}",
        headline(comparison),
    ]
    metrics = [m for m in comparison.metrics if show_all or m.verdict != "unchanged"]
    if metrics:
        table = [["metric", "old", "new", "change", ""]]
        table += [[m.name, _value(m.old), _value(m.new), _change(m), m.verdict] for m in metrics]
        lines += ["", *_rows(table)]
    params = [p for p in comparison.params if show_all or p.status != "unchanged"]
    if params:
        table = [["param", "old", "new", ""]]
        table += [[p.name, _value(p.old), _value(p.new), p.status] for p in params]
        lines += ["", *_rows(table)]
    files = [f for f in comparison.files if show_all or f.status != "unchanged"]
    if files:
        table = [["file", "old md5", "new md5", "size", ""]]
        table += [
            [f.path, (f.old_md5 or "-")[:12], (f.new_md5 or "-")[:12],
             f"{_value(f.old_size)} -> {_value(f.new_size)}", f.status]
            for f in files
        ]  # fmt: skip
        lines += ["", *_rows(table)]
    for stage in comparison.stages:
        lines.append(f"stage {stage.name}: {'; '.join(stage.changes)}")
    for feature in comparison.features:
        types = f" ({feature.old_type or '-'} -> {feature.new_type or '-'})"
        lines.append(f"{feature.kind} {feature.name}: {feature.status}{types}")
    lines += [f"note: {problem}" for problem in comparison.problems]
    if not comparison.changed and not show_all:
        lines.append("no changes")
    return "\n".join(lines) + "\n"


def _md_table(header: list[str], rows: list[list[str]], align: list[str]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(align) + "|",
        *("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows),
    ]


def _details(summary: str, body: list[str]) -> list[str]:
    return ["", f"<details><summary>{summary}</summary>", "", *body, "", "</details>"]


def markdown(comparison: Comparison, show_all: bool = False) -> str:
    """GitHub-flavoured Markdown for a pull-request comment."""
    a, b = comparison.a, comparison.b
    lines = [f"### {comparison.model}: {headline(comparison)}", ""]
    metrics = [m for m in comparison.metrics if show_all or m.verdict != "unchanged"]
    if metrics:
        rows = [
            [
                f"`{m.name}`",
                _value(m.old),
                _value(m.new),
                _change(m),
                _ICON.get(m.verdict, m.verdict),
            ]
            for m in metrics
        ]
        lines += _md_table(
            ["Metric", "Old", "New", "Change", ""], rows, ["---", "--:", "--:", "--:", ":-:"]
        )
    else:
        lines.append("No metric changed.")
    params = [p for p in comparison.params if show_all or p.status != "unchanged"]
    if params:
        rows = [[f"`{p.name}`", _value(p.old), _value(p.new), p.status] for p in params]
        table = _md_table(["Param", "Old", "New", ""], rows, ["---", "--:", "--:", "---"])
        lines += _details(f"Params ({len(params)} shown)", table)
    files = [f for f in comparison.files if show_all or f.status != "unchanged"]
    if files:
        rows = [
            [f"`{f.path}`", f.kind, f"`{(f.old_md5 or '-')[:8]}`", f"`{(f.new_md5 or '-')[:8]}`",
             f"{_value(f.old_size)} → {_value(f.new_size)}", f.status]
            for f in files
        ]  # fmt: skip
        table = _md_table(
            ["File", "Kind", "Old md5", "New md5", "Size (bytes)", ""], rows,
            ["---", "---", "---", "---", "--:", "---"],
        )  # fmt: skip
        lines += _details(f"Artifact and data ({len(files)} shown)", table)
    if comparison.stages:
        body = [f"- `{s.name}`: {'; '.join(s.changes)}" for s in comparison.stages]
        lines += _details(f"Pipeline stages ({len(comparison.stages)} changed)", body)
    if comparison.features:
        body = [
            f"- {f.kind} `{f.name}`: {f.status} ({f.old_type or '-'} → {f.new_type or '-'})"
            for f in comparison.features
        ]
        lines += _details(f"Schema ({len(comparison.features)} changed)", body)
    lines += ["", *(f"> ⚠️ {problem}" for problem in comparison.problems)]
    lines.append(f"Compared `{_side(a.label, a.commit)}` with `{_side(b.label, b.commit)}`.")
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


def gates_markdown(results: list[GateResult]) -> str:
    """The gate verdicts as a Markdown list (empty when there are no gates)."""
    if not results:
        return ""
    failed = [r for r in results if r.failed]
    head = f"**{len(failed)} of {len(results)} gates failed**" if failed else "**All gates passed**"
    rows = [f"- {'❌' if r.failed else '✅'} `{r.rule}` ({r.model}): {r.detail}" for r in results]
    return "\n".join([head, "", *rows]) + "\n"


def gates_text(results: list[GateResult]) -> str:
    """The gate verdicts, one line each."""
    return "".join(
        f"gate {'FAILED' if r.failed else 'passed'}: {r.rule} ({r.model}): {r.detail}\n"
        for r in results
    )


def changelog(entries: list[ChangelogEntry], markdown: bool = False) -> str:
    """`changelog` as terminal text or Markdown."""
    lines: list[str] = []
    for entry in entries:
        level = f"{entry.level} bump" if entry.level else "registered"
        if markdown:
            lines += ["", f"## {entry.tag} — {entry.date[:10]} ({level})", ""]
        else:
            lines += ["", f"{entry.tag}  {entry.date[:10]}  {level}"]
        bullet = "- " if markdown else "  "
        lines += [f"{bullet}{reason}" for reason in entry.reasons]
        deltas = [_delta(name, old, new) for name, old, new in entry.metrics]
        if deltas:
            lines.append(f"{bullet}metrics: {', '.join(deltas)}")
        for name, old, new in entry.params:
            lines.append(f"{bullet}param {name}: {_value(old)} -> {_value(new)}")
    if markdown and lines:
        lines = ["# Changelog", *lines]
    return "\n".join(lines).lstrip("\n") + "\n" if lines else "no versions yet\n"


def _delta(name: str, old: Any, new: Any) -> str:
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
    if old is None or not numbers or old == new:
        return f"{name} {_value(new)}"
    return f"{name} {_value(old)} -> {_value(new)} ({new - old:+.4g})"
