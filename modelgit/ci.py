"""CI as modelgit commands: write the workflows, the release step, the pull-request report."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelgit import config, gitrepo
from modelgit.deploy.manifests import packaged_templates
from modelgit.errors import InvalidNameError, ManifestError
from modelgit.names import Action, parse_tag
from modelgit.resolve import declared, documents, model_state, pick, root_of

REPORT_MARKER = "<!-- modelgit report -->"
_TARGETS = {
    "github": {
        "modelgit-release.yml": ".github/workflows/modelgit-release.yml",
        "modelgit-report.yml": ".github/workflows/modelgit-report.yml",
    },
    "gitlab": {"modelgit.gitlab-ci.yml": ".gitlab/modelgit.gitlab-ci.yml"},
}


@dataclass(frozen=True)
class InitResult:
    """The workflow files `ci init` wrote, and what the user still has to do."""

    provider: str
    written: tuple[str, ...]
    note: str = ""


def _version() -> str:
    try:
        return importlib.metadata.version("modelgit")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source checkout
        return "0.1.0"


def init(repo: Path | str = ".", provider: str = "github", force: bool = False) -> InitResult:
    """Write the release and pull-request workflows; existing files only with `force`."""
    root = root_of(repo)
    if provider not in _TARGETS:
        raise InvalidNameError(f"unknown CI provider {provider!r}; use github or gitlab")
    source = packaged_templates() / "ci" / provider
    targets = {root / target: source / name for name, target in _TARGETS[provider].items()}
    existing = [str(t.relative_to(root)) for t in targets if t.exists()]
    if existing and not force:
        raise ManifestError(f"{', '.join(existing)} exists; pass --force to overwrite")
    for target, template in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(template.read_text().replace("{{ version }}", _version()))
    note = ""
    if provider == "gitlab":
        gitlab_ci = root / ".gitlab-ci.yml"
        if not gitlab_ci.exists():
            gitlab_ci.write_text("include:\n  - local: .gitlab/modelgit.gitlab-ci.yml\n")
            targets[gitlab_ci] = gitlab_ci
        elif ".gitlab/modelgit.gitlab-ci.yml" not in gitlab_ci.read_text():
            note = "add `include: [{local: .gitlab/modelgit.gitlab-ci.yml}]` to .gitlab-ci.yml"
    written = tuple(str(t.relative_to(root)) for t in targets)
    return InitResult(provider, written, note)


@dataclass(frozen=True)
class ReleaseResult:
    """What `ci release` did for one pushed version tag."""

    tag: str
    verified: bool
    problems: tuple[str, ...]
    manifests: tuple[str, ...]
    summary_path: str
    summary: str


def _metric_lines(title: str, new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    rows = []
    for name, value in new.items():
        before = old.get(name)
        numbers = all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in (value, before)
        )
        change = f"{value - before:+.4g}" if numbers and before is not None else "-"
        rows.append(f"| `{name}` | {before if before is not None else '-'} | {value} | {change} |")
    header = [
        "",
        f"#### Metrics {title}",
        "",
        "| Metric | Then | Now | Change |",
        "|---|--:|--:|--:|",
    ]
    return [*header, *rows] if rows else []


def release(repo: Path | str, tag: str, out: Path | str | None = None) -> ReleaseResult:
    """Verify a version tag, render its manifests (the project's configured strategy), and
    write a release summary (`<out>/summary.md`; manifests in `<out>/manifests/`)."""
    from modelgit import deploying
    from modelgit.verifying import verify

    root = root_of(repo)
    parsed = parse_tag(tag.removeprefix("refs/tags/"))
    if parsed is None or parsed.action is not Action.REGISTER:
        raise InvalidNameError(f"{tag!r} is not a version tag (<model>@vX.Y.Z)")
    reference = f"{parsed.model}@v{parsed.version}"
    out_dir = (
        Path(out) if out is not None else root / "release" / tag.replace("@", "-").replace("=", "-")
    )
    [checked] = verify(root, reference)
    problems = tuple(f"{c.name}: {c.detail}" for c in checked.checks if not c.ok)
    manifests: tuple[str, ...] = ()
    if not problems:
        strategy = str(config.load(root).deploy.get("strategy") or "bluegreen")
        rendered = deploying.manifest(root, reference, strategy, out_dir / "manifests")
        manifests = rendered.written
    summary = _summary(root, reference, checked, problems, manifests)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_path = out_dir / "summary.md"
    summary_path.write_text(summary)
    return ReleaseResult(tag, not problems, problems, manifests, str(summary_path), summary)


def _summary(
    root: Path, reference: str, checked: Any, problems: tuple[str, ...], manifests: tuple[str, ...]
) -> str:
    model, _, version = reference.partition("@v")
    state = model_state(root, model)
    event = pick(state, version, None)
    index = [e.version for e in state.versions].index(version)
    previous = state.versions[index - 1] if index else None
    production = state.version(state.stages.get("production") or "")
    wanted = [e for e in (event, previous, production) if e is not None]
    docs = documents(root, wanted)
    doc = docs[event.tag]
    bump = doc.get("bump") or {}
    reasons = "; ".join(bump.get("reasons") or [])
    artifact = doc.get("artifact") or {}
    lines = [
        f"### {event.tag} {'✅ verified' if not problems else '❌ verification failed'}",
        "",
        f"- commit `{event.commit[:12]}`, created {doc.get('created_at', event.created_at)} by "
        f"{doc.get('created_by', event.author)}",
        f"- bump: {bump.get('level', '-')}" + (f" ({reasons})" if reasons else ""),
        f"- artifact `{artifact.get('path')}` md5 `{artifact.get('md5')}`",
    ]
    lines += [f"- ❌ {problem}" for problem in problems]
    lines += [
        f"- ✅ {c.name}: {c.detail}" for c in checked.checks if c.ok and c.name == "artifact bytes"
    ]
    metrics = doc.get("metrics") or {}
    if previous is not None:
        lines += _metric_lines(
            f"vs previous ({previous.tag})", metrics, docs[previous.tag].get("metrics") or {}
        )
    if production is not None and production.tag != event.tag:
        lines += _metric_lines(
            f"vs production ({production.tag})", metrics, docs[production.tag].get("metrics") or {}
        )
    if manifests:
        lines += ["", "#### Manifests", "", *(f"- `{Path(m).name}`" for m in manifests)]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ReportResult:
    """The pull-request report: its Markdown, where it went, and the gates."""

    markdown: str
    path: str | None
    failed: bool
    models: tuple[str, ...]


def report(
    repo: Path | str = ".",
    base: str = "origin/main",
    out: Path | str | None = None,
    fail_on: list[str] | None = None,
) -> ReportResult:
    """For each model the change touches: the diff of base vs HEAD, and of production vs HEAD."""
    from modelgit import comparing, gates, render

    root = root_of(repo)
    if gitrepo.resolve_commit(root, base) is None:
        raise InvalidNameError(f"--base {base!r} is not a git revision (fetch it first?)")
    rules = [gates.parse_rule(rule) for rule in fail_on or []]
    sections = [REPORT_MARKER, "## modelgit report", ""]
    results = []
    models = []
    for model in sorted(declared(root)):
        [change] = comparing.diff(root, base, "HEAD", model)
        if not change.changed:
            continue
        models.append(model)
        sections.append(render.markdown(change))
        results += gates.check(rules, [change])
        state = model_state(root, model)
        if state.stages.get("production"):
            [live] = comparing.diff(root, f"{model}#production", "HEAD", model)
            sections += [
                "<details><summary>Against production</summary>",
                "",
                render.markdown(live),
                "</details>",
                "",
            ]
    if not models:
        sections.append(f"No model changes between `{base}` and this head.")
    if results:
        sections += ["", render.gates_markdown(results)]
    markdown = "\n".join(sections).rstrip() + "\n"
    path = None
    if out is not None:
        Path(out).write_text(markdown)
        path = str(out)
    return ReportResult(markdown, path, any(r.failed for r in results), tuple(models))
