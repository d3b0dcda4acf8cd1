"""CI as modelgit commands: write the workflows, the release step, the pull-request report.

The release summary and the report are data here; `cli.render` writes them as Markdown.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelgit.analysis.compare import Comparison
from modelgit.analysis.gates import GateResult
from modelgit.commands.verify import Verification
from modelgit.deploy.manifests import packaged_templates
from modelgit.errors import InputError, InvalidNameError, ManifestError, UnknownVersionError
from modelgit.model import facts
from modelgit.registry.lookup import declared, model_state, pick, root_of
from modelgit.registry.state import Event
from modelgit.registry.tags import Action, parse_tag
from modelgit.sources import config, git
from modelgit.values import as_list

_TARGETS = {
    "github": {
        "modelgit-release.yml": ".github/workflows/modelgit-release.yml",
        "modelgit-report.yml": ".github/workflows/modelgit-report.yml",
    },
    "gitlab": {"modelgit.gitlab-ci.yml": ".gitlab/modelgit.gitlab-ci.yml"},
}


@dataclass(frozen=True)
class CiInitResult:
    """The workflow files `ci init` wrote, and what the user still has to do."""

    provider: str
    written: tuple[str, ...]
    note: str = ""


def _version() -> str:
    try:
        return importlib.metadata.version("modelgit")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source checkout
        return "0.1.0"


def ci_init(
    repo: Path | str = ".", provider: str = "github", *, force: bool = False
) -> CiInitResult:
    """Write the release and pull-request workflows; existing files only with `force`."""
    root = root_of(repo)
    if provider not in _TARGETS:
        raise InputError(f"unknown CI provider {provider!r}; use github or gitlab")
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
    return CiInitResult(provider, written, note)


@dataclass(frozen=True)
class VersionDocument:
    """A version's tag and its metadata document (derived from the commit when it has none)."""

    tag: str
    commit: str
    created_at: str
    author: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class ReleaseResult:
    """What `ci release` did for one pushed version tag: verified, rendered, and what to say."""

    tag: str
    verified: bool
    problems: tuple[str, ...]
    manifests: tuple[str, ...]
    out: str  # the directory the summary and manifests belong in
    version: VersionDocument
    verification: Verification
    previous: VersionDocument | None = None
    production: VersionDocument | None = None


def ci_release(repo: Path | str, tag: str, out: Path | str | None = None) -> ReleaseResult:
    """Verify a version tag and render its manifests (the project's configured strategy) into
    `<out>/manifests/`; the result carries what the release summary says."""
    from modelgit.commands.manifest import ManifestRequest, manifest
    from modelgit.commands.verify import verify

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
        request = ManifestRequest(reference, strategy=strategy, out=out_dir / "manifests")
        manifests = manifest(root, request).written
    state = model_state(root, parsed.model)
    event = pick(state, parsed.version, None)
    index = [e.version for e in state.versions].index(event.version)
    previous = state.versions[index - 1] if index else None
    production = state.version(state.stages.get("production") or "")
    if production is not None and production.tag == event.tag:
        production = None
    wanted = [e for e in (event, previous, production) if e is not None]
    docs = facts.read_documents(root, wanted)

    def document(found: Event | None) -> VersionDocument | None:
        if found is None:
            return None
        return VersionDocument(
            found.tag, found.commit, found.created_at, found.author, docs[found.tag]
        )

    return ReleaseResult(
        tag=tag,
        verified=not problems,
        problems=problems,
        manifests=manifests,
        out=str(out_dir),
        version=document(event),  # type: ignore[arg-type]
        verification=checked,
        previous=document(previous),
        production=document(production),
    )


@dataclass(frozen=True)
class ModelReport:
    """One changed model in a pull request: against the base, and against production."""

    model: str
    against_base: Comparison
    against_production: Comparison | None


@dataclass(frozen=True)
class ReportResult:
    """The pull-request report: each changed model's comparisons and the gates."""

    base: str
    models: tuple[ModelReport, ...]
    gates: tuple[GateResult, ...]

    @property
    def failed(self) -> bool:
        """True when a gate failed."""
        return any(g.failed for g in self.gates)


def ci_report(
    repo: Path | str = ".", base: str = "origin/main", fail_on: list[str] | None = None
) -> ReportResult:
    """For each model the change touches: the diff of base vs HEAD, and of production vs HEAD."""
    from modelgit.analysis import gates
    from modelgit.commands import compare

    root = root_of(repo)
    if git.resolve_commit(root, base) is None:
        raise UnknownVersionError(f"--base {base!r} is not a git revision (fetch it first?)")
    rules = [gates.parse_rule(rule) for rule in as_list(fail_on)]
    compared: list[Comparison] = []
    models = []
    for model in sorted(declared(root)):
        [change] = compare.diff(root, base, "HEAD", model=model).comparisons
        compared.append(change)
        if not change.changed:
            continue
        live = None
        if model_state(root, model).stages.get("production"):
            [live] = compare.diff(root, f"{model}#production", "HEAD", model=model).comparisons
        models.append(ModelReport(model, change, live))
    # Gates judge the changed models; a rule naming no metric of any model is an input error.
    results = gates.check(rules, [m.against_base for m in models], known=compared)
    return ReportResult(base, tuple(models), tuple(results))
