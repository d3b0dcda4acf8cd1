"""Every rendering of a command's result: text, tables, Markdown, JSON. Pure: data -> str.

Imports of result types are for type checking only, so that rendering costs nothing at start-up.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelgit.values import is_number

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
        ReleaseResult,
        ReportResult,
        ScanResult,
        StageChange,
        Verification,
        VersionInfo,
        VersionMetrics,
    )
    from modelgit.analysis.compare import MetricChange
    from modelgit.analysis.gates import GateResult

REPORT_MARKER = "<!-- modelgit report -->"

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
    key = next((m for m in comparison.metrics if m.name == comparison.key_metric), None)
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
    if old is None or not (is_number(old) and is_number(new)) or old == new:
        return f"{name} {_value(new)}"
    return f"{name} {_value(old)} -> {_value(new)} ({new - old:+.4g})"


def to_json(value: Any) -> str:
    """Results as JSON: dataclasses as objects, enums as their text, paths as strings."""

    def plain(item: Any) -> Any:
        if is_dataclass(item) and not isinstance(item, type):
            return asdict(item)
        if isinstance(item, Path):
            return str(item)
        raise TypeError(f"{type(item).__name__} is not JSON serialisable")

    return json.dumps(value, indent=2, ensure_ascii=False, default=plain)


def diff_json(result: DiffResult) -> str:
    """`diff --json`: the documented keys (which metric headlines, `key_metric`, is not one)."""
    comparisons = [
        {k: v for k, v in asdict(c).items() if k != "key_metric"} for c in result.comparisons
    ]
    return to_json({"comparisons": comparisons, "gates": result.gates, "failed": result.failed})


def table(columns: list[str], rows: list[list[str]], *, terminal: bool) -> str:
    """A table: drawn by rich for a terminal, plain columns for a pipe.

    Piped output (logs, CI, `grep`, `awk`) gets whole lines of space-separated columns and no
    box drawing, which also spares a short command rich's import (a tenth of `list`).
    """
    if not terminal:
        return "".join(f"{line}\n" for line in _rows([columns, *rows]))
    from rich.console import Console
    from rich.table import Table

    grid = Table(show_edge=False, header_style="bold")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*row)
    buffer = io.StringIO()
    Console(file=buffer, force_terminal=False).print(grid)
    return buffer.getvalue()


def version_label(version: str | None) -> str:
    """`v1.2.3`, or `-` for none."""
    return f"v{version}" if version else "-"


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


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


def models_table(models: list[ModelSummary], *, terminal: bool) -> str:
    """`list`: a row per model, a column per stage (with key metrics when asked)."""
    if not models:
        return "no models: declare one in dvc.yaml `artifacts:` and run `modelgit bump`\n"
    stages = list(dict.fromkeys(stage for m in models for stage in m.stages))  # config order
    rows = []
    for m in models:
        found = m.metrics or {}

        def metric(label: str, found: dict[str, Any] = found) -> str:
            key = found.get(label)
            return f"  {key.name}={key.value}" if key is not None else ""

        deprecated = " (deprecated)" if m.deprecated else ""
        latest = version_label(m.latest) + deprecated + metric("latest")
        cells = [version_label(m.stages.get(s)) + metric(s) for s in stages]
        rows.append([m.name, latest, *cells])
    return table(["model", "latest", *stages], rows, terminal=terminal)


def version_json(info: VersionInfo) -> str:
    """`show --json`: the metadata document plus what the registry says of the tag."""
    return to_json(
        {
            **info.metadata,
            "tag": info.tag,
            "commit": info.commit,
            "assigned_stages": list(info.assigned_stages),
            "deprecated": info.deprecated,
            "signed": info.signed,
            "derived": info.derived,
            "problem": info.problem,
        }
    )


def version_text(info: VersionInfo) -> str:
    """`show`: the tag, its stages and commit, then the metadata as YAML."""
    import yaml

    stages = f" [{', '.join(info.assigned_stages)}]" if info.assigned_stages else ""
    marker = " DEPRECATED" if info.deprecated else ""
    shown = {k: v for k, v in info.metadata.items() if v not in (None, [], {})}
    body = yaml.safe_dump(shown, sort_keys=False, allow_unicode=True).rstrip()
    return f"{info.tag}{marker}{stages}  commit {info.commit[:12]}\n{body}\n"


def history_table(entries: list[HistoryEntry], *, terminal: bool) -> str:
    """`history`: registrations and stage moves, newest first."""
    rows = [
        [e.created_at[:19].replace("T", " "), e.event, version_label(e.version), e.stage or "",
         e.tag, e.author.split(" <")[0]]
        for e in entries
    ]  # fmt: skip
    return table(["when", "event", "version", "stage", "tag", "by"], rows, terminal=terminal)


def metric_history_table(rows: list[VersionMetrics], *, terminal: bool) -> str:
    """`history --metrics`: a row per version, a column per metric."""
    names = list(dict.fromkeys(k for r in rows for k in r.metrics))
    cells = [
        [version_label(r.version), r.created_at[:10], *(_cell(r.metrics.get(n)) for n in names)]
        for r in rows
    ]
    return table(["version", "date", *names], cells, terminal=terminal)


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
    """`promote`, `rollback`, `deprecate`: the tag written (or why none was)."""
    if change.tag is None:
        return change.note + "\n"
    before = f" (was {version_label(change.previous)})" if change.stage else ""
    target = f" -> {change.stage} {version_label(change.version)}" if change.stage else ""
    return f"created {change.tag}{target}{before}\n"


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
    """`verify`: each version's verdict and every check."""
    lines = []
    for result in results:
        lines.append(f"{result.tag}: {'verified' if result.ok else 'FAILED'}")
        lines += [f"  {'ok ' if c.ok else 'BAD'} {c.name}: {c.detail}" for c in result.checks]
    return "\n".join(lines) + "\n"


def verification_json(results: list[Verification]) -> str:
    """`verify --json`: every check, and `ok` per version."""
    return to_json([{**asdict(r), "ok": r.ok} for r in results])


def scan_text(result: ScanResult) -> str:
    """`scan`: each unsafe global, or that none was found."""
    if result.safe:
        return "no unsafe globals found\n"
    return "".join(f"{f.location}: imports {f.module}.{f.name}\n" for f in result.findings)


def _metric_lines(title: str, new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    rows = []
    for name, value in new.items():
        before = old.get(name)
        change = f"{value - before:+.4g}" if is_number(value) and is_number(before) else "-"
        rows.append(f"| `{name}` | {before if before is not None else '-'} | {value} | {change} |")
    header = ["", f"#### Metrics {title}", "", "| Metric | Then | Now | Change |"]
    return [*header, "|---|--:|--:|--:|", *rows] if rows else []


def release_summary(result: ReleaseResult) -> str:
    """`ci release`: the Markdown release summary (job summary, release notes)."""
    version = result.version
    doc = version.metadata
    bump = doc.get("bump") or {}
    reasons = "; ".join(bump.get("reasons") or [])
    artifact = doc.get("artifact") or {}
    verdict = "✅ verified" if result.verified else "❌ verification failed"
    lines = [
        f"### {version.tag} {verdict}",
        "",
        f"- commit `{version.commit[:12]}`, created {doc.get('created_at', version.created_at)} "
        f"by {doc.get('created_by', version.author)}",
        f"- bump: {bump.get('level', '-')}" + (f" ({reasons})" if reasons else ""),
        f"- artifact `{artifact.get('path')}` md5 `{artifact.get('md5')}`",
    ]
    lines += [f"- ❌ {problem}" for problem in result.problems]
    lines += [
        f"- ✅ {c.name}: {c.detail}"
        for c in result.verification.checks
        if c.ok and c.name == "artifact bytes"
    ]
    metrics = doc.get("metrics") or {}
    for title, other in (("previous", result.previous), ("production", result.production)):
        if other is not None:
            old = other.metadata.get("metrics") or {}
            lines += _metric_lines(f"vs {title} ({other.tag})", metrics, old)
    if result.manifests:
        lines += ["", "#### Manifests", "", *(f"- `{Path(m).name}`" for m in result.manifests)]
    return "\n".join(lines) + "\n"


def report_markdown(result: ReportResult) -> str:
    """`ci report`: the pull-request comment, found again by its marker."""
    sections = [REPORT_MARKER, "## modelgit report", ""]
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
