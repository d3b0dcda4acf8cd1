"""Every rendering of a command's result: text, tables, Markdown, JSON. Pure: data -> str.

Imports of result types are for type checking only, so that rendering costs nothing at start-up.
"""

from __future__ import annotations

import io
import json
import math
import re
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelgit.values import denoised, difference, format_number, format_value, is_number

if TYPE_CHECKING:
    from modelgit import (
        BumpResult,
        ChangelogEntry,
        Comparison,
        DiffResult,
        HistoryEntry,
        ImpactResult,
        ManifestResult,
        ModelSummary,
        PolicyReport,
        PublishResult,
        ReleaseResult,
        ReportResult,
        RolloutEvent,
        RolloutRequest,
        ScanResult,
        Setting,
        StageChange,
        Verification,
        VersionInfo,
        VersionMetrics,
        VersionRow,
    )
    from modelgit.analysis.compare import MetricChange
    from modelgit.analysis.gates import GateResult
    from modelgit.values import Progress

REPORT_MARKER = "<!-- modelgit report -->"
SUMMARY_MARKER = "<!-- modelgit release summary -->"

_ICON = {"better": "✅", "worse": "❌"}


@dataclass(frozen=True)
class Look:
    """Where text goes: a terminal (tables, colour, a width to fit) or a pipe (plain lines)."""

    terminal: bool = False
    colour: bool = False
    width: int | None = None


PLAIN = Look()

# Better and worse read without colour too: the marks are for colour-blind readers and pipes.
_MARK = {"better": "✓", "worse": "✗"}
_COLOUR = {"better": "32", "worse": "31", "deprecated": "33"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def visible_len(text: str) -> int:
    """The width `text` takes on screen (colour codes take none)."""
    return len(_ANSI.sub("", text))


def paint(text: str, meaning: str, look: Look) -> str:
    """`text` in the colour of `meaning` (better, worse, deprecated) when colour is on."""
    code = _COLOUR.get(meaning)
    return f"\x1b[{code}m{text}\x1b[0m" if look.colour and code else text


def marked(text: str, verdict: str, look: Look) -> str:
    """`text ✓` green when better, `text ✗` red when worse; otherwise as it is."""
    mark = _MARK.get(verdict)
    return paint(f"{text} {mark}", verdict, look) if mark else text


def verdict_of(old: Any, new: Any, direction: str | None) -> str:
    """better, worse or unchanged for two numbers and a direction (`changed` without one)."""
    if not (is_number(old) and is_number(new)) or old == new:
        return "unchanged"
    if direction not in ("higher", "lower"):
        return "changed"
    return "better" if (new > old) == (direction == "higher") else "worse"


# Every number is printed by the one formatter, `values.format_number`, and JSON writes
# `values.denoised` floats: a bump subject, a changelog, a diff and JSON never disagree.
_value = format_value


def _signed(number: int | float) -> str:
    """`+0.014` / `-0.02`: a change with its sign."""
    return ("+" if number >= 0 else "") + format_number(number)


def _change(metric: MetricChange) -> str:
    if metric.diff is None:
        return metric.verdict if metric.verdict in ("added", "removed") else "-"
    text = _signed(metric.diff)
    if metric.relative is not None:
        text += f" ({metric.relative * 100:+.1f}%)"
    return text


def _side(label: str, commit: str | None) -> str:
    return f"{label} ({commit[:12]})" if commit and commit[:12] not in label else label


def headline(comparison: Comparison) -> str:
    """`accuracy 0.931 -> 0.945 (+1.5%) ✅` for the key metric, or what else changed."""
    a, b = comparison.a, comparison.b
    # A side that lacks the model but whose metrics were read is compared, not "new".
    if not a.exists and all(m.old is None for m in comparison.metrics):
        return f"{comparison.model} is new at {b.label}"
    if not b.exists and all(m.new is None for m in comparison.metrics):
        return f"{comparison.model} does not exist at {b.label}"
    key = next((m for m in comparison.metrics if m.name == comparison.key_metric), None)
    if key is None:
        if comparison.problems:  # declared but unreadable is not "no metrics"
            return "metrics not compared: see the notes below"
        return "no metrics to compare"
    line = f"{key.name} {_value(key.old)} -> {_value(key.new)}"
    if key.relative is not None:
        line += f" ({key.relative * 100:+.1f}%)"
    return f"{line} {_ICON.get(key.verdict, '')}".rstrip()


def _rows(table: list[list[str]]) -> list[str]:
    widths = [max(visible_len(row[i]) for row in table) for i in range(len(table[0]))]
    return [
        "  ".join(
            cell + " " * (w - visible_len(cell)) for cell, w in zip(row, widths, strict=True)
        ).rstrip()
        for row in table
    ]


def text(comparison: Comparison, show_all: bool = False, look: Look = PLAIN) -> str:
    """A terminal rendering; unchanged rows are hidden unless `show_all`.

    Better and worse read as words with ✓/✗ (green/red on a colour terminal).
    """
    lines = [
        f"{comparison.model}: {_side(comparison.a.label, comparison.a.commit)} -> "
        f"{_side(comparison.b.label, comparison.b.commit)}",
        _text_headline(comparison, look),
    ]
    metrics = [m for m in comparison.metrics if show_all or m.verdict != "unchanged"]
    if metrics:
        table = [["metric", "old", "new", "change", ""]]
        table += [
            [m.name, _value(m.old), _value(m.new), paint(_change(m), m.verdict, look),
             marked(str(m.verdict), m.verdict, look)]
            for m in metrics
        ]  # fmt: skip
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


def _text_headline(comparison: Comparison, look: Look) -> str:
    line = headline(comparison)
    key = next((m for m in comparison.metrics if m.name == comparison.key_metric), None)
    if key is None or not line.endswith(tuple(_ICON.values())):
        return line
    return marked(line[:-1].rstrip(), key.verdict, look)


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


def changelog(entries: list[ChangelogEntry], markdown: bool = False, look: Look = PLAIN) -> str:
    """`changelog` as terminal text or Markdown; on a terminal, lines wrap between words."""
    lines: list[str] = []
    for entry in entries:
        level = f"{entry.level} bump" if entry.level else "registered"
        tag = f"{entry.tag} DEPRECATED" if entry.deprecated else entry.tag
        if markdown:
            lines += ["", f"## {tag} — {entry.date[:10]} ({level})", ""]
        else:
            lines += ["", f"{tag}  {entry.date[:10]}  {level}"]
        bullet = "- " if markdown else "  "
        items: list[tuple[str, list[str]]] = [
            (reason, reason.split(" ")) for reason in entry.reasons
        ]
        deltas = [
            _delta(name, old, new, entry.directions.get(name), PLAIN if markdown else look)
            for name, old, new in entry.metrics
        ]
        if deltas:
            items.append(("metrics: " + ", ".join(deltas), ["metrics:", *_joined(deltas)]))
        for name, old, new in entry.params:
            line = f"param {name}: {_value(old)} -> {_value(new)}"
            items.append((line, line.split(" ")))
        for line, words in items:
            lines += _wrapped(bullet, line, words, None if markdown else look.width)
        if entry.migration:
            lines += ["", "### Migration guide", ""] if markdown else ["  migration guide:"]
            for note in entry.migration:
                lines += _wrapped(bullet if markdown else "    ", note, note.split(" "),
                                  None if markdown else look.width)  # fmt: skip
    if markdown and lines:
        lines = ["# Changelog", *lines]
    return "\n".join(lines).lstrip("\n") + "\n" if lines else "no versions yet\n"


def _joined(items: list[str]) -> list[str]:
    """Items as unbreakable chunks, each but the last followed by its comma."""
    return [f"{item}," for item in items[:-1]] + items[-1:]


def _wrapped(
    bullet: str, line: str, chunks: list[str], width: int | None, hang: int | None = None
) -> list[str]:
    """`line` after `bullet`, wrapped at `width` between chunks (never inside one); later
    lines indent by `hang` (default: two more than the bullet)."""
    if width is None or len(bullet) + visible_len(line) <= width:
        return [f"{bullet}{line}"]
    indent = " " * (len(bullet) + 2 if hang is None else hang)
    out, current, start = [], bullet, bullet
    for chunk in chunks:
        candidate = f"{current}{chunk}" if current == start else f"{current} {chunk}"
        if visible_len(candidate) > width and current != start:
            out.append(current)
            current = start = indent
            candidate = f"{current}{chunk}"
        current = candidate
    return [*out, current]


def _delta(name: str, old: Any, new: Any, direction: str | None = None, look: Look = PLAIN) -> str:
    if old is None or not (is_number(old) and is_number(new)) or old == new:
        return f"{name} {_value(new)}"
    text = f"{name} {_value(old)} -> {_value(new)} ({_signed(difference(old, new))})"
    return marked(text, verdict_of(old, new, direction), look)


_UTC_OFFSET = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(?:\+00:00|Z)$")


def normalised(value: Any) -> Any:
    """One shape for every command's JSON: objects for dataclasses, text for enums and paths,
    UTC timestamps as `2026-11-26T14:00:00Z`, and floats without noise (0.1 + 0.2 is 0.3)."""
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return {str(normalised(k)): normalised(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [normalised(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return denoised(value) if math.isfinite(value) else None
    if isinstance(value, str):
        stamp = _UTC_OFFSET.match(value)
        return f"{stamp.group(1)}Z" if stamp else str(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(value: Any) -> str:
    """Results as JSON (see `normalised`), indented, one document ending in a newline."""
    return json.dumps(normalised(value), indent=2, ensure_ascii=False) + "\n"


def diff_json(result: DiffResult) -> str:
    """`diff --json`: the documented keys (which metric headlines, `key_metric`, is not one)."""
    comparisons = [
        {k: v for k, v in asdict(c).items() if k != "key_metric"} for c in result.comparisons
    ]
    return to_json({"comparisons": comparisons, "gates": result.gates, "failed": result.failed})


# A step that makes a table narrower: drop a column, or shorten every cell of one.
FitStep = str | tuple[str, Callable[[str], str]]


def table(
    columns: list[str], rows: list[list[str]], look: Look = PLAIN, *, fit: Sequence[FitStep] = ()
) -> str:
    """A table: drawn by rich for a terminal, plain columns for a pipe.

    Piped output (logs, CI, `grep`, `awk`) gets whole lines of space-separated columns and no
    box drawing, which also spares a short command rich's import (a tenth of `list`). On a
    terminal, the `fit` steps (drop a column, shorten one) apply in order until the table fits
    the width, and no cell is ever cut or wrapped: a tag is whole or not shown.
    """
    if not look.terminal:
        return "".join(f"{line}\n" for line in _rows([columns, *rows]))
    columns, rows = _fitted(columns, rows, look.width, fit)
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    grid = Table(show_edge=False, header_style="bold" if look.colour else None)
    for column in columns:
        grid.add_column(column, no_wrap=True)
    for row in rows:
        grid.add_row(*(Text.from_ansi(cell) for cell in row))
    buffer = io.StringIO()
    width = max(look.width or 0, _table_width(columns, rows))
    console = Console(
        file=buffer, force_terminal=look.colour, width=width, no_color=not look.colour
    )
    console.print(grid)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def _table_width(columns: list[str], rows: list[list[str]]) -> int:
    """What rich needs: each column padded by one space a side, one rule between columns."""
    widths = [max(visible_len(r[i]) for r in [columns, *rows]) for i in range(len(columns))]
    return sum(w + 2 for w in widths) + len(widths) - 1


def _fitted(
    columns: list[str], rows: list[list[str]], width: int | None, steps: Sequence[FitStep]
) -> tuple[list[str], list[list[str]]]:
    for step in steps:
        if width is None or _table_width(columns, rows) <= width:
            break
        name = step if isinstance(step, str) else step[0]
        if name not in columns:
            continue
        index = columns.index(name)
        if isinstance(step, str):
            columns = columns[:index] + columns[index + 1 :]
            rows = [row[:index] + row[index + 1 :] for row in rows]
        else:
            rows = [[*row[:index], step[1](row[index]), *row[index + 1 :]] for row in rows]
    return columns, rows


def version_label(version: str | None) -> str:
    """`v1.2.3`, or `-` for none."""
    return f"v{version}" if version else "-"


def deprecated_label(version: str | None, deprecated: bool) -> str:
    """`v1.2.3`, marked `v1.2.3 DEPRECATED` when the version was deregistered."""
    return version_label(version) + (" DEPRECATED" if deprecated else "")


def bump(result: BumpResult, *, explain: bool) -> str:
    """What `bump` created (or would create, or decided)."""
    if explain:
        head = f"{result.level} bump: {result.tag}"
        lines = [f"{head} (previous: v{result.previous})" if result.previous else head]
        lines += [f"  - {reason}" for reason in result.reasons]
        if not result.reasons:
            lines.append("  - the level was given, not decided")
        return "\n".join(lines) + "\n"
    if result.dry_run:
        return f"would create {result.tag} on {result.commit[:12]}:\n\n{result.message}\n"
    previous = f" (previous: v{result.previous})" if result.previous else ""
    lines = [f"created {result.tag} on {result.commit[:12]}{previous}"]
    lines.append(result.message.splitlines()[0])
    if result.pushed_to:
        lines.append(f"pushed {result.tag} to {result.pushed_to}")
    return "\n".join(lines) + "\n"


def models_json(models: list[ModelSummary]) -> str:
    """`list --json`: each model's summary; `metrics` only when they were asked for."""
    documents = []
    for model in models:
        document = asdict(model)
        if model.metrics is None:
            del document["metrics"]
        documents.append(document)
    return to_json(documents)


def models_table(models: list[ModelSummary], look: Look = PLAIN) -> str:
    """`list`: a row per model, a column per stage (with key metrics when asked)."""
    if not models:
        return "no models: declare one in dvc.yaml `artifacts:` and run `modelgit bump`\n"
    stages = list(dict.fromkeys(stage for m in models for stage in m.stages))  # config order
    rows = []
    for m in models:
        found = m.metrics or {}

        def metric(label: str, found: dict[str, Any] = found) -> str:
            key = found.get(label)
            return f"  {key.name}={_value(key.value)}" if key is not None else ""

        deprecated = paint(" (deprecated)", "deprecated", look) if m.deprecated else ""
        latest = version_label(m.latest) + deprecated + metric("latest")
        cells = [version_label(m.stages.get(s)) + metric(s) for s in stages]
        rows.append([m.name, latest, *cells])
    return table(["model", "latest", *stages], rows, look)


def versions_table(rows: list[VersionRow], look: Look = PLAIN) -> str:
    """`list MODEL`: a row per version, newest first (as `gto show MODEL`)."""
    if not rows:
        return "no versions yet: run `modelgit bump`\n"
    key = next((r.key_metric.name for r in rows if r.key_metric), None)
    cells = []
    for row in rows:
        version = version_label(row.version)
        if row.deprecated:
            version += " " + paint("DEPRECATED", "deprecated", look)
        value = row.key_metric.value if row.key_metric and row.key_metric.name == key else None
        cells.append([version, ", ".join(row.stages), _when(row.created_at), _value(value),
                      row.commit[:12]])  # fmt: skip
    columns = ["version", "stages", "created", key or "metric", "commit"]
    return table(columns, cells, look, fit=["commit", ("created", _day)])


def _when(stamp: str) -> str:
    return stamp[:19].replace("T", " ")


def _day(when: str) -> str:
    return when[:10]


def version_json(info: VersionInfo) -> str:
    """`show --json`: the metadata document plus what the registry says of the tag."""
    return to_json(
        {
            # A tag without usable metadata still names its model and version.
            "model": info.model,
            "version": info.version,
            **info.metadata,
            "tag": info.tag,
            "commit": info.commit,
            "assigned_stages": list(info.assigned_stages),
            "deprecated": info.deprecated,
            "signed": info.signed,
            "derived": info.derived,
            "problem": info.problem,
            "key_metric": info.key_metric,
            "model_deprecated": info.model_deprecated,
        }
    )


def version_text(info: VersionInfo, look: Look = PLAIN, *, metadata: bool = False) -> str:
    """`show`: a summary for people (what, where, when, why, how good, how big, how proven);
    with `metadata`, the whole metadata document as YAML below it."""
    doc = info.metadata
    stages = f"  [{', '.join(info.assigned_stages)}]" if info.assigned_stages else ""
    deprecated = "  " + paint("DEPRECATED", "deprecated", look) if _deprecated(info) else ""
    if info.model_deprecated:
        deprecated += "  " + paint("MODEL DEPRECATED", "deprecated", look)
    rows: list[tuple[str, str]] = [("tag", info.tag), ("commit", info.commit[:12])]
    author = str(doc.get("created_by") or "").split(" <")[0]
    created = doc.get("created_at")
    if created:
        rows.append(("created", f"{_when(str(created))} UTC" + (f" by {author}" if author else "")))
    bump = doc.get("bump") if isinstance(doc.get("bump"), dict) else {}
    if bump or doc.get("previous"):
        level = str(bump.get("level") or "registered")
        previous = f" (from v{doc['previous']})" if doc.get("previous") else ""
        rows.append(("bump", level + previous))
        rows += [("", str(reason)) for reason in bump.get("reasons") or []]
    metrics = doc.get("metrics") if isinstance(doc.get("metrics"), dict) else {}
    if metrics:
        key = info.key_metric
        ordered = sorted(metrics, key=lambda name: name != key)
        shown = [f"{name} {_value(metrics[name])}" + (" (key)" if name == key else "")
                 for name in ordered]  # fmt: skip
        rows.append(("metrics", ", ".join(shown)))
    artifact = doc.get("artifact") if isinstance(doc.get("artifact"), dict) else {}
    if artifact:
        size = artifact.get("size")
        parts = [str(artifact.get("path") or "-")]
        if is_number(size):
            parts.append(human_size(int(size)))
        if artifact.get("md5"):
            parts.append(f"md5 {str(artifact['md5'])[:12]}")
        rows.append(("artifact", "  ".join(parts)))
    signature = "signed" if info.signed else "unsigned"
    rows.append(("proof", f"{signature}; check it all with `modelgit verify {info.tag}`"))
    if info.derived:
        rows.append(
            ("note", "the tag carries no metadata (GTO wrote it?): derived from the commit")
        )
    lines = [f"{info.model} v{info.version}{stages}{deprecated}"]
    width = look.width if look.terminal else None
    for label, value in rows:
        bullet = f"{label:<10}"
        lines += _wrapped(bullet, value, value.split(" "), width, hang=len(bullet))
    if metadata:
        import yaml

        shown_doc = {k: v for k, v in doc.items() if v not in (None, [], {})}
        body = yaml.safe_dump(shown_doc, sort_keys=False, allow_unicode=True).rstrip()
        lines += ["", "metadata:", textwrap.indent(body, "  ")]
    return "\n".join(lines) + "\n"


def _deprecated(item: Any) -> bool:
    return bool(getattr(item, "deprecated", False))


def human_size(size: int) -> str:
    """Bytes for people: `1286` is `1.3 KiB` (binary units, as `ls -lh` counts).

    >>> human_size(512), human_size(1286), human_size(5 * 1024**3)
    ('512 B', '1.3 KiB', '5.0 GiB')
    """
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def history_table(entries: list[HistoryEntry], look: Look = PLAIN) -> str:
    """`history`: registrations and stage moves, newest first.

    At 80 columns the author goes first, then the time of day, the event (the tag says it),
    the stage: the tag and version stay whole.
    """
    rows = [
        [_when(e.created_at or ""), e.event, deprecated_label(e.version, e.deprecated),
         e.stage or "",
         e.tag,
         e.author.split(" <")[0]]
        for e in entries
    ]  # fmt: skip
    fit: list[FitStep] = [("when", lambda w: w[:16]), "by", ("when", _day), "event", "stage"]
    return table(["when", "event", "version", "stage", "tag", "by"], rows, look, fit=fit)


def metric_history_table(rows: list[VersionMetrics], look: Look = PLAIN) -> str:
    """`history --metrics`: a row per version, a column per metric; each value marked ✓/✗
    against the version before it (green/red on a colour terminal)."""
    names = list(dict.fromkeys(k for r in rows for k in r.metrics))
    cells = []
    for index, row in enumerate(rows):
        before = rows[index + 1].metrics if index + 1 < len(rows) else {}
        values = []
        for name in names:
            value = row.metrics.get(name)
            verdict = verdict_of(before.get(name), value, row.directions.get(name))
            values.append(marked(_value(value), verdict, look))
        label = deprecated_label(row.version, row.deprecated)
        cells.append([label, row.created_at[:10], *values])
    fit: list[FitStep] = ["date", *reversed(names[1:])]
    return table(["version", "date", *names], cells, look, fit=fit)


def gate_failures(results: list[GateResult]) -> str:
    """The one-line error for failed gates."""
    failed = [r for r in results if r.failed]
    return f"{len(failed)} gate(s) failed: " + "; ".join(f"{r.rule} ({r.detail})" for r in failed)


def impact_text(target: str, result: ImpactResult) -> str:
    """`impact`: the models and stages a change reaches."""
    lines = [f"{target} ({', '.join(result.matched)}) at {result.rev} reaches:"]
    if not result.models:
        lines.append("  no model")
    for model in result.models:
        held = ", ".join(f"{s} {version_label(v)}" for s, v in model.stages.items() if v)
        line = f"  model {model.name}: latest {version_label(model.latest)}"
        lines.append(line + (f"; {held}" if held else ""))
    lines.append(f"stages that would rerun: {', '.join(result.stages) or 'none'}")
    return "\n".join(lines) + "\n"


def stage_change(change: StageChange) -> str:
    """`promote`, `rollback`, `deprecate`, `unassign`: the tag written (or why none was), and
    where it is."""
    if change.tag is None:
        return change.note + "\n"
    before = f" (was {version_label(change.previous)})" if change.stage else ""
    target = f" -> {change.stage} {version_label(change.version)}" if change.stage else ""
    lines = [f"created {change.tag}{target}{before}"]
    if change.action == "unassign":
        lines = [f"created {change.tag}: v{change.previous} leaves {change.stage}; {change.note}"]
    pushed_to = getattr(change, "pushed_to", None)
    if pushed_to:
        lines.append(f"pushed {change.tag} to {pushed_to}")
    else:
        lines.append(
            f"the tag is local; publish it with `git push origin {change.tag}` (or --push)"
        )
    return "\n".join(lines) + "\n"


def rollout_event(event: RolloutEvent, request: RolloutRequest, checks: int) -> str:
    """One line of `rollout` progress: what happened, and for health checks `check 3/10` and
    the time left in the window."""
    kind = str(event.kind)
    if kind not in ("healthy", "unhealthy"):
        return f"[{event.at:7.1f}s] {kind}: {event.detail}\n"
    total = max(1, math.ceil(request.window / request.interval) + 1)
    left = max(0.0, request.window - event.at)
    where = f"check {checks}/{total}, {left:.0f}s left"
    return f"[{event.at:7.1f}s] {kind}: {event.detail} ({where})\n"


def rollout_interrupted(
    request: RolloutRequest, promoted: str | None, restored: str | None = None
) -> str:
    """What Ctrl-C left behind in a rollout, and the command that undoes it."""
    model = request.model or "MODEL"
    if promoted is None:
        return f"interrupted before promoting: {request.stage} is unchanged"
    if restored is not None:
        return f"interrupted: rolled back, {restored}"
    return (
        f"interrupted: {promoted} put v{request.version} in {request.stage} and its health was "
        f"not confirmed; to restore the version before it, run "
        f"`modelgit rollback {model}#{request.stage}`"
    )


def manifest_checks(result: ManifestResult) -> str:
    """What `--validate` checked each rendered document against."""
    lines = []
    for checked in result.checks:
        verdict = (
            f"valid against {checked.schema}" if checked.schema else "NOT validated: no schema"
        )
        lines.append(f"{checked.file}: {checked.kind} {checked.name}: {verdict}")
    return "".join(f"{line}\n" for line in lines)


def verification(results: list[Verification]) -> str:
    """`verify`: each version's verdict, every check with ok / FAILED / not checked, each
    mismatch and each bad file on a line of its own, and what no commit can confirm."""
    lines = []
    for result in results:
        marker = " DEPRECATED" if result.deprecated else ""
        lines.append(f"{result.tag}{marker}: {_verdict(result)}")
        for check in result.checks:
            status = f"{check.status}".ljust(11)
            itemised = [*map(str, check.mismatches), *check.problems]
            if itemised and check.status == "FAILED":
                lines.append(f"  {status}  {check.name}:")
                lines += [f"{'':15}{item}" for item in itemised]
            else:
                lines.append(f"  {status}  {check.name}: {check.detail}")
        if result.not_derivable:
            lines.append(f"  recorded, not derivable: {', '.join(result.not_derivable)}")
        lines += [f"  note: {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def _verdict(result: Verification) -> str:
    skipped = [c.name for c in result.checks if c.status == "not checked"]
    if result.verdict == "FAILED":
        failed = [c.name for c in result.checks if c.status == "FAILED"]
        return f"FAILED ({', '.join(failed)})"
    return f"{result.verdict} (not checked: {', '.join(skipped)})" if skipped else "verified"


def verification_json(results: list[Verification]) -> str:
    """`verify --json`: the text's structure: verdict, each check, mismatches, not derivable."""
    return to_json(
        [
            {
                "model": r.model, "version": r.version, "tag": r.tag, "commit": r.commit,
                "deprecated": r.deprecated, "verdict": r.verdict, "ok": r.ok,
                "checks": [
                    {"name": c.name, "status": c.status, "detail": c.detail,
                     "mismatches": [asdict(m) for m in c.mismatches],
                     "problems": list(c.problems), "waived": c.waived}
                    for c in r.checks
                ],
                "not_derivable": list(r.not_derivable),
                "notes": list(r.notes),
            }
            for r in results
        ]
    )  # fmt: skip


def release_json(results: list[ReleaseResult], summary: Path, *, since: bool = False) -> str:
    """`ci release --json`: the tag's kind, verdict, problems, notes, files and verification
    (and the summary's path); with `--since`, `{summary, releases: [...]}`."""
    documents = [_release_document(r, summary if not since else Path(r.out) / "summary.md")
                 for r in results]  # fmt: skip
    if since:
        return to_json({"summary": summary, "releases": documents})
    return to_json(documents[0])


def _release_document(result: ReleaseResult, summary: Path) -> dict[str, Any]:
    verification = result.verification
    return {
        "tag": result.tag, "kind": result.kind, "ok": result.ok, "verified": result.verified,
        "problems": result.problems, "notes": result.notes, "stage": result.stage,
        "strategy": result.strategy, "out": result.out, "summary": summary,
        "manifests": result.manifests,
        "commit": result.version.commit if result.version is not None else None,
        "stable": result.stable.tag if result.stable is not None else None,
        "published": result.published.uri if result.published is not None else None,
        "verification": None if verification is None
        else {**asdict(verification), "ok": verification.ok},
    }  # fmt: skip


def changelog_json(entries: list[ChangelogEntry]) -> str:
    """`changelog --json`: metric and param changes as objects, as `diff --json` has them."""
    documents = []
    for entry in entries:
        metrics = []
        for name, old, new in entry.metrics:
            direction = entry.directions.get(name)
            change = difference(old, new) if is_number(old) and is_number(new) else None
            verdict = verdict_of(old, new, direction)
            metrics.append({"name": name, "old": old, "new": new, "diff": change,
                            "direction": direction, "verdict": verdict})  # fmt: skip
        documents.append({
            "version": entry.version, "tag": entry.tag, "created_at": entry.date,
            "deprecated": entry.deprecated, "level": entry.level, "reasons": entry.reasons,
            "metrics": metrics,
            "params": [{"name": n, "old": old, "new": new} for n, old, new in entry.params],
            "migration": list(entry.migration),
        })  # fmt: skip
    return to_json(documents)


def scan_text(result: ScanResult) -> str:
    """`scan`: each finding, or that every global is on the allow-list."""
    if result.safe:
        count = len(result.files)
        return f"no unknown globals in {count} file{'s' if count != 1 else ''}\n"
    return "".join(f"{f.location}: {f.text}\n" for f in result.findings)


def scan_json(result: ScanResult) -> str:
    """`scan --json`: `safe`, `files`, `allowed` and each finding with its `text`."""
    findings = [{**asdict(f), "text": f.text} for f in result.findings]
    return to_json(
        {
            "safe": result.safe,
            "paths": result.paths,
            "files": result.files,
            "allowed": result.allowed,
            "findings": findings,
        }
    )


def _metric_lines(title: str, new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    rows = []
    for name, value in new.items():
        before = old.get(name)
        change = "-"
        if is_number(value) and is_number(before):
            change = _signed(difference(before, value))
        rows.append(f"| `{name}` | {_value(before)} | {_value(value)} | {change} |")
    header = ["", f"#### Metrics {title}", "", "| Metric | Then | Now | Change |"]
    return [*header, "|---|--:|--:|--:|", *rows] if rows else []


def release_summary(result: ReleaseResult) -> str:
    """`ci release`: the Markdown release summary (job summary, release notes)."""
    if result.version is None:
        return "\n".join([SUMMARY_MARKER, f"### {result.tag}: nothing to release", "",
                          *(f"- {note}" for note in result.notes)]) + "\n"  # fmt: skip
    if result.stage is not None:
        return _assignment_summary(result)
    version = result.version
    doc = version.metadata
    bump = doc.get("bump") or {}
    reasons = "; ".join(bump.get("reasons") or [])
    artifact = doc.get("artifact") or {}
    verdict = "✅ verified" if result.ok else "❌ verification failed"
    if result.verified and not result.ok:
        verdict = "❌ not published"
    lines = [
        SUMMARY_MARKER,
        f"### {version.tag} {verdict}",
        "",
        f"- commit `{version.commit[:12]}`, created {doc.get('created_at', version.created_at)} "
        f"by {doc.get('created_by', version.author)}",
        f"- bump: {bump.get('level', '-')}" + (f" ({reasons})" if reasons else ""),
        f"- artifact `{artifact.get('path')}` md5 `{artifact.get('md5')}`",
    ]
    lines += [f"- ❌ {problem}" for problem in result.problems]
    checks = result.verification.checks if result.verification is not None else ()
    lines += [f"- ✅ {c.name}: {c.detail}" for c in checks if c.ok and c.name == "artifact bytes"]
    if result.published is not None:
        done = "published" if result.published.copied else "already published"
        lines.append(f"- 📦 {done}: `{result.published.uri}`")
    lines += [f"- {note}" for note in result.notes]
    metrics = doc.get("metrics") or {}
    for title, other in (("previous", result.previous), ("production", result.production)):
        if other is not None:
            old = other.metadata.get("metrics") or {}
            lines += _metric_lines(f"vs {title} ({other.tag})", metrics, old)
    lines += _manifest_lines(result)
    return "\n".join(lines) + "\n"


def _assignment_summary(result: ReleaseResult) -> str:
    version = result.version
    assert version is not None
    verdict = "" if result.ok else " ❌ refused"
    lines = [SUMMARY_MARKER, f"### {result.tag}: {version.tag} to {result.stage}{verdict}", ""]
    if result.strategy:
        stable = f", from {result.stable.tag}" if result.stable is not None else ""
        lines.append(f"- strategy: {result.strategy}{stable}")
    lines += [f"- ❌ {problem}" for problem in result.problems]
    lines += [f"- {note}" for note in result.notes]
    if result.stable is not None:
        metrics = version.metadata.get("metrics") or {}
        old = result.stable.metadata.get("metrics") or {}
        lines += _metric_lines(f"vs {result.stable.tag}", metrics, old)
    lines += _manifest_lines(result)
    return "\n".join(lines) + "\n"


def _manifest_lines(result: ReleaseResult) -> list[str]:
    if not result.manifests:
        return []
    return ["", "#### Manifests", "", *(f"- `{Path(m).name}`" for m in result.manifests)]


def nothing_since(since: str) -> str:
    """`ci release --since`: no registration or stage tag was created after `since`."""
    return f"{SUMMARY_MARKER}\n### Nothing to release since {since}\n"


def report_markdown(result: ReportResult) -> str:
    """`ci report`: the pull-request comment, found again by its marker."""
    sections = [REPORT_MARKER, "## modelgit report", ""]
    if result.stale:
        sections += [
            "> [!WARNING]",
            "> **The head's pipeline is stale**: its `dvc.lock` does not match its params or "
            "code (`dvc status`), so the numbers below are those of an older run. Run "
            "`dvc repro` and commit `dvc.lock`.",
            *(f"> - `{stage}`: {'; '.join(why)}" for stage, why in sorted(result.stale.items())),
            "",
        ]
    for model in result.models:
        sections.append(markdown(model.against_base))
        if model.against_production is not None:
            sections += [
                "<details><summary>Against production</summary>",
                "",
                markdown(model.against_production),
                "</details>",
                "",
            ]
    if not result.models:
        sections.append(f"No model changes between `{result.base}` and this head.")
    if result.gates:
        sections += ["", gates_markdown(list(result.gates))]
    return "\n".join(sections).rstrip() + "\n"


def policy_report(report: PolicyReport) -> str:
    """`verify --policy`: each stage tag judged, its signer or what breaks the policy."""
    lines = [f"stage policy from {report.source}"]
    for check in report.checks:
        holds = f"v{check.version}" if check.version else "nothing"
        now = ", in force" if check.in_force else ""
        if not check.rules:
            lines.append(f"  --  {check.tag}: {holds}{now}; {check.stage} has no policy")
            continue
        verdict = "ok " if check.ok else "BAD"
        signer = f", signed by {check.signer}" if check.signer else ""
        lines.append(f"  {verdict} {check.tag}: {holds}{now}{signer} ({check.rules})")
        lines += [f"        {check.tag} {problem}" for problem in check.problems]
    if not report.checks:
        lines.append("  no stage tag of a stage with a policy")
    return "\n".join(lines) + "\n"


def policy_json(report: PolicyReport) -> str:
    """`verify --policy --json`: `source`, `ok`, and per tag its verdict and problems."""
    checks = [{**asdict(c), "ok": c.ok} for c in report.checks]
    return to_json({"source": report.source, "ok": report.ok, "checks": checks})


def settings_table(settings: list[Setting], look: Look = PLAIN) -> str:
    """`config`: each setting, its value in effect, and where that value came from."""
    rows = [[s.key, _setting(s.value), s.source] for s in settings]
    return table(["key", "value", "from"], rows, look)


def _setting(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value) or "-"
    return str(value)


@contextmanager
def progress_bar(
    enabled: bool, threshold: int = 16 << 20, counting: bool = False
) -> Iterator[Progress]:
    """A `modelgit.values.Progress` callback drawing a bar on stderr (for work on files of at
    least `threshold` bytes, or `counting` items, at least `threshold` of them, on a terminal);
    a callback that does nothing otherwise."""
    state: dict[str, Any] = {}

    def update(what: str, done: int, total: int) -> None:
        if not enabled or total < threshold:
            return
        if "bar" not in state:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            amounts = (
                (MofNCompleteColumn(),) if counting else (DownloadColumn(), TransferSpeedColumn())
            )
            state["bar"] = Progress(
                TextColumn("{task.description}"), BarColumn(), *amounts, TimeRemainingColumn(),
                console=Console(stderr=True), transient=True,
            )  # fmt: skip
            state["bar"].start()
        bar = state["bar"]
        if state.get("what") != what:
            state["what"] = what
            state["task"] = bar.add_task(what, total=total)
        bar.update(state["task"], completed=done, total=total)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()


def retention_text(result: Any) -> str:
    """`gc`: per model, what is kept and why, what is retired; then what `--apply` freed."""
    policy = result.policy
    days = "no age limit" if policy.keep_days is None else f"{policy.keep_days} days"
    days = days.removesuffix("s") if policy.keep_days == 1 else days
    lines = [
        f"policy: keep the latest {policy.keep_last}, versions newer than {days}, "
        f"{'versions a stage held within that window, ' if policy.keep_stages else ''}"
        "every stage's current version and the parents of kept versions"
        + (f"; archive to {policy.archive_stage}" if policy.archive_stage else "")
    ]
    for plan in result.plans:
        lines.append("")
        archiving = f", archive {len(plan.archive)}" if policy.archive_stage else ""
        lines.append(f"{plan.model}: keep {len(plan.kept)}, retire {len(plan.retired)}{archiving}")
        for version, reasons in plan.kept.items():
            lines.append(f"  keep    v{version}  ({'; '.join(reasons)})")
        for version in plan.retired:
            lines.append(f"  retire  v{version}")
        for version in plan.archive:
            lines.append(f"  archive v{version}  (left its stage; to {policy.archive_stage})")
        if plan.already_retired:
            # Their tags stay; what `--apply` frees is the storage no kept version shares.
            listed = ", ".join(f"v{version}" for version in plan.already_retired)
            freed = "is freed" if result.applied else "is freed by `modelgit gc --apply`"
            lines.append(
                f"  already retired: {listed} (storage only they use {freed}; "
                "the cache here, with --cloud the DVC remote too)"
            )
        if plan.recently_retired:
            listed = ", ".join(f"v{version}" for version in plan.recently_retired)
            lines.append(
                f"  recently retired: {listed} (retired less than {days} ago: gc does not free "
                "their storage before then)"
            )
    if result.applied:
        lines.append("")
        archived = (
            f"archived {len(result.archived_tags)} ({', '.join(result.archived_tags)}); "
            if result.archived_tags
            else ""
        )
        lines.append(
            f"retired {len(result.retired_tags)} version(s) with deregistration tags "
            f"({', '.join(result.retired_tags) or 'none'}); {archived}removed "
            f"{result.removed_cache_objects} cache object(s), "
            f"{result.removed_remote_objects} remote object(s), "
            f"{len(result.removed_published)} published copy(ies)"
        )
        if result.pushed_tags:
            lines.append(f"pushed to origin first: {', '.join(result.pushed_tags)}")
        elif result.retired_tags or result.archived_tags:
            tags = " ".join([*result.retired_tags, *result.archived_tags])
            lines.append(f"the tags are local; publish them with `git push origin {tags}`")
    elif any(plan.retired or plan.archive or plan.already_retired for plan in result.plans):
        lines.append("")
        lines.append("nothing changed: this is the plan; `modelgit gc --apply` carries it out")
    return "\n".join(lines) + "\n"


def published(result: PublishResult) -> str:
    """`publish`: where the version's bytes are, and whether this run copied them."""
    done = "published" if result.copied else "already published (identical bytes)"
    lines = [f"{result.tag}: {done} at {result.uri}"]
    lines += [f"  {f.path}  md5 {f.md5}{'' if f.copied else '  (unchanged)'}" for f in result.files]
    return "\n".join(lines) + "\n"


def published_json(result: PublishResult) -> str:
    """`publish --json`: the URIs, the files and whether anything was copied."""
    document = {
        "model": result.model,
        "version": result.version,
        "tag": result.tag,
        "uri": result.uri,
        "artifact_uri": result.artifact_uri,
        "descriptor_uri": result.descriptor_uri,
        "copied": result.copied,
        "files": [{"path": f.path, "md5": f.md5, "copied": f.copied} for f in result.files],
    }
    return json.dumps(document, indent=2) + "\n"
