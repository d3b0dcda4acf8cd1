"""CI as modelgit commands: write the workflows, the release step, the pull-request report.

The release summary and the report are data here; `cli.render` writes them as Markdown.
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelgit.analysis.compare import Comparison
from modelgit.analysis.gates import GateResult
from modelgit.commands.verify import Verification
from modelgit.deploy.manifests import Strategy, packaged_templates
from modelgit.errors import (
    InputError,
    InstallSpecError,
    ManifestError,
    ModelgitError,
    UnknownVersionError,
)
from modelgit.model import facts
from modelgit.registry import state as registry
from modelgit.registry.lookup import declared, model_state, root_of
from modelgit.registry.state import Event, ModelState
from modelgit.registry.tags import Action, parse_tag
from modelgit.sources import config, git, outputs
from modelgit.values import TextEnum, as_list

if TYPE_CHECKING:
    from modelgit.commands.publish import PublishResult

_TARGETS = {
    "github": {
        "modelgit-release.yml": ".github/workflows/modelgit-release.yml",
        "modelgit-report.yml": ".github/workflows/modelgit-report.yml",
    },
    "gitlab": {"modelgit.gitlab-ci.yml": ".gitlab/modelgit.gitlab-ci.yml"},
}
# `--site` on GitHub: a workflow of its own (GitLab's `pages` job joins the file above).
_SITE_TARGETS = {"github": {"modelgit-site.yml": ".github/workflows/modelgit-site.yml"}}


@dataclass(frozen=True)
class CiInitResult:
    """The workflow files `ci init` wrote, and what the user still has to do."""

    provider: str
    written: tuple[str, ...]
    note: str = ""
    next_steps: tuple[str, ...] = ()  # one-time set-up on the host and how tags trigger CI
    install: str = ""  # the pip requirement the release and report jobs install


def _version() -> str:
    try:
        return importlib.metadata.version("modelgit")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source checkout
        return "0.1.0"


class CiAuth(TextEnum):
    """How the release job gets the DVC remote's credentials."""

    OIDC = "oidc"  # short-lived credentials from the cloud's official action / id_tokens
    SECRETS = "secrets"  # named secrets (CI/CD variables on GitLab)


# The DVC remote's protocol -> the extra that brings its DVC plugin (`modelgit[s3]`).
_SCHEMES = {"s3": "s3", "gs": "gs", "gcs": "gs", "azure": "azure", "az": "azure"}


def ci_init(
    repo: Path | str = ".",
    provider: str = "github",
    *,
    auth: CiAuth | str = CiAuth.OIDC,
    apply: bool = False,
    force: bool = False,
    site: bool = False,
    install_spec: str | None = None,
) -> CiInitResult:
    """Write the release and pull-request workflows; existing files only with `force`.

    The release job installs the plugin of the project's default DVC remote and gets its
    credentials by `auth`; with `apply`, one job per configured stage applies that stage's
    manifests, bound to a host environment named after the stage; with `site`, a job builds
    the registry's static site on every registry tag and publishes it to GitHub or GitLab Pages.
    Every job installs modelgit from `install_spec` (a pip requirement such as
    `modelgit @ git+https://host/org/modelgit@SHA`; default: this release from the index).
    """
    root = root_of(repo)
    if provider not in _TARGETS:
        raise InputError(f"unknown CI provider {provider!r}; use github or gitlab")
    if str(auth) not in {a.value for a in CiAuth}:
        raise InputError(f"unknown --auth {auth!r}; use oidc or secrets")
    requirement = install_spec if install_spec is not None else f"modelgit=={_version()}"
    source = packaged_templates() / "ci" / provider
    context = _workflow_context(root, str(auth), apply, requirement) | {"site": site}
    targets = _TARGETS[provider] | (_SITE_TARGETS.get(provider, {}) if site else {})
    files = {target: _render_workflow(source / name, context) for name, target in targets.items()}
    if not force:
        existing = [target for target in files if (root / target).exists()]
        if existing:
            raise ManifestError(f"{', '.join(existing)} exists; pass --force to overwrite")
    outputs.write_files(root, files, outputs.YAML_MARKER, replace_any=force)
    written = list(files)
    note = ""
    if provider == "gitlab":
        gitlab_ci = root / ".gitlab-ci.yml"
        if not gitlab_ci.exists():
            include = f"{outputs.YAML_MARKER} (`modelgit ci init`)\ninclude:\n"
            include += "  - local: .gitlab/modelgit.gitlab-ci.yml\n"
            outputs.write_file(gitlab_ci, include, outputs.YAML_MARKER)
            written.append(".gitlab-ci.yml")
        elif ".gitlab/modelgit.gitlab-ci.yml" not in gitlab_ci.read_text():
            note = "add `include: [{local: .gitlab/modelgit.gitlab-ci.yml}]` to .gitlab-ci.yml"
    steps = _next_steps(root, provider, site)
    return CiInitResult(provider, tuple(written), note, steps, context["install"])


# The stages the GitLab jobs run in: GitLab's defaults, which a `stages:` list must keep.
GITLAB_STAGES = ("build", "test", "deploy")


def _next_steps(root: Path, provider: str, site: bool) -> tuple[str, ...]:
    """What the host needs once, and what a tag push runs (the workflow file of its commit)."""
    steps = []
    if provider == "github":
        if site:
            steps.append(
                "Settings > Pages > Source: GitHub Actions; Settings > Environments > "
                "github-pages > Deployment branches and tags: add tag rules `*@v*`, `*#*` and "
                "`*@deprecated` (`*/*@v*`... for monorepo tags), or choose No restriction. "
                "GitHub limits github-pages to the default branch, and a tag-triggered deploy "
                'is refused ("not allowed to deploy to github-pages due to environment '
                'protection rules")'
            )
        steps.append(
            "commit and push these files on the default branch, then cut a new version: a tag "
            "push runs the workflow file of the tagged commit, so stage, deprecation and "
            "deregistration tags of versions cut before this commit trigger nothing (and later "
            "workflow edits never reach them); for those, run `modelgit release` by hand with "
            "`since`" + (" and `modelgit site` by hand (Actions > Run workflow)" if site else "")
        )
    else:
        missing = _missing_gitlab_stages(root)
        if missing:
            steps.append(
                f"the `stages:` list in .gitlab-ci.yml lacks {', '.join(missing)}: add them "
                f"(modelgit's jobs run in {', '.join(GITLAB_STAGES)}, GitLab's default stages)"
            )
        steps.append(
            "commit and push these files on the default branch, then cut a new version: a tag "
            "pipeline runs the CI configuration of the tagged commit, so stage, deprecation and "
            "deregistration tags of versions cut before this commit trigger nothing; for those, "
            "run a pipeline on the default branch (Build > Pipelines > Run pipeline) with "
            "MODELGIT_SINCE set" + (", which also rebuilds Pages" if site else "")
        )
    return tuple(steps)


def _missing_gitlab_stages(root: Path) -> list[str]:
    """The stages modelgit's jobs use that the project's own `stages:` list leaves out."""
    import yaml

    try:
        document = yaml.safe_load((root / ".gitlab-ci.yml").read_text())
    except (OSError, yaml.YAMLError):
        return []
    declared = document.get("stages") if isinstance(document, dict) else None
    if not isinstance(declared, list):
        return []  # no list of its own: GitLab's defaults, which hold every stage used
    return [stage for stage in GITLAB_STAGES if stage not in declared]


# A requirement is written into a YAML `run:` line inside double quotes: allow only what PEP 508
# names, versions and URLs need, so no shell or YAML syntax can ride along.
_REQUIREMENT_CHARACTERS = re.compile(r"[A-Za-z0-9 ._\-\[\],=<>!~@:/+%#]+")


def install_requirement(spec: str, extras: tuple[str, ...] = ()) -> str:
    """`spec` (a pip requirement for modelgit: a version, or `modelgit @ URL`) with `extras`."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    hint = "e.g. 'modelgit==0.2.0' or 'modelgit @ git+https://github.com/ORG/modelgit@SHA'"
    if not _REQUIREMENT_CHARACTERS.fullmatch(spec):
        bad = sorted({c for c in spec if not _REQUIREMENT_CHARACTERS.fullmatch(c)})
        shown = ", ".join(repr(c) for c in bad) or "nothing"
        raise InstallSpecError(
            f"--install-spec {spec!r} must be one line without shell characters (found "
            f"{shown}); {hint}"
        )
    try:
        requirement = Requirement(spec)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0]
        raise InstallSpecError(
            f"--install-spec {spec!r} is not a pip requirement ({reason}); {hint}"
        ) from exc
    if canonicalize_name(requirement.name) != "modelgit":
        raise InstallSpecError(f"--install-spec must install modelgit, not {requirement.name}")
    requirement.extras = set(requirement.extras) | {e for e in extras if e}
    return str(requirement)


def _workflow_context(root: Path, auth: str, apply: bool, requirement: str) -> dict[str, Any]:
    from modelgit.sources.dvc import default_remote_url

    site_install = install_requirement(requirement)  # checked before anything else is read
    url = default_remote_url(root) if (root / ".dvc").is_dir() else None
    scheme = _SCHEMES.get(url.split("://", 1)[0], "") if url and "://" in url else ""
    stages = config.load(root).stages if apply else ()
    for stage in stages:
        if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", stage):
            raise InputError(
                f"stage {stage!r} cannot name a CI job and environment; use lowercase letters, "
                "digits and '-'"
            )
    install = install_requirement(requirement, (scheme, "k8s"))
    return {"scheme": scheme, "auth": auth, "stages": stages, "install": install,
            "site_install": site_install}  # fmt: skip


def _render_workflow(template: Path, context: dict[str, Any]) -> str:
    """Render a workflow template; its delimiters (`<< >>`, `<% %>`) leave `${{ }}` alone."""
    import jinja2

    environment = jinja2.Environment(
        variable_start_string="<<", variable_end_string=">>",
        block_start_string="<%", block_end_string="%>",
        comment_start_string="<#", comment_end_string="#>",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, autoescape=False,
    )  # fmt: skip
    return environment.from_string(template.read_text()).render(**context)


@dataclass(frozen=True)
class VersionDocument:
    """A version's tag and its metadata document (derived from the commit when it has none)."""

    tag: str
    commit: str
    created_at: str
    author: str
    metadata: dict[str, Any]


class ReleaseKind(TextEnum):
    """What a pushed tag asks of CI."""

    REGISTRATION = "registration"  # verify, publish, render against production
    ASSIGNMENT = "assignment"  # render the stage's manifests
    NOTHING = "nothing"  # any other tag (GTO's cancel forms, deprecations, foreign tags)


@dataclass(frozen=True)
class ReleaseResult:
    """What `ci release` did for one pushed tag: verified, published, rendered, what to say."""

    tag: str
    kind: ReleaseKind
    verified: bool
    problems: tuple[str, ...]
    manifests: tuple[str, ...]
    out: str  # the directory the summary and manifests belong in
    version: VersionDocument | None
    verification: Verification | None
    previous: VersionDocument | None = None
    production: VersionDocument | None = None
    stage: str | None = None  # an assignment's stage
    stable: VersionDocument | None = None  # what the rollout starts from (the stage's previous)
    strategy: str = ""  # the strategy rendered ("" when nothing was)
    published: PublishResult | None = None
    notes: tuple[str, ...] = ()  # what the summary should say besides the checks

    @property
    def ok(self) -> bool:
        """False when the version did not verify or publishing failed."""
        return self.verified and not self.problems


def ci_release(
    repo: Path | str,
    tag: str,
    out: Path | str | None = None,
    *,
    weights: str | None = None,
    policy_ref: str | None = None,
) -> ReleaseResult:
    """Release one pushed tag. A registration is verified, published to the DVC remote (when
    the project has one) and rendered with the configured strategy against production; a stage
    assignment that keeps its stage's policy (read from `policy_ref`, e.g. the protected
    default branch) renders that stage's manifests, the stage's previous holder as the stable
    version; any other tag has nothing to release. Manifests go into `<out>/manifests/`."""
    root = root_of(repo)
    name = tag.removeprefix("refs/tags/")
    out_dir = Path(out) if out is not None else root / "release" / _slug(name)
    parsed = parse_tag(name)
    if parsed is None or parsed.action not in (Action.REGISTER, Action.ASSIGN):
        return ReleaseResult(
            tag=name, kind=ReleaseKind.NOTHING, verified=True, problems=(), manifests=(),
            out=str(out_dir), version=None, verification=None,
            notes=(f"{name} is not a registration or stage assignment: nothing to release",),
        )  # fmt: skip
    state = model_state(root, parsed.model)
    if parsed.action is Action.ASSIGN:
        return _release_assignment(root, state, name, out_dir, weights, policy_ref)
    return _release_registration(root, state, name, out_dir, weights)


def _slug(tag: str) -> str:
    return re.sub(r"[@=#/]", "-", tag)


def _documents(root: Path, events: list[Event | None]) -> list[VersionDocument | None]:
    wanted = [e for e in events if e is not None]
    docs = facts.read_documents(root, wanted)
    return [
        None if e is None else VersionDocument(e.tag, e.commit, e.created_at, e.author, docs[e.tag])
        for e in events
    ]


def _release_registration(
    root: Path, state: ModelState, tag: str, out_dir: Path, weights: str | None
) -> ReleaseResult:
    from modelgit.commands.verify import verify

    event = next((e for e in state.versions if e.tag == tag), None)
    if event is None and git.tag_object_type(root, tag) == "commit":
        raise UnknownVersionError(
            f"{tag} is a lightweight tag here, without the version's metadata (a checkout that "
            f'rewrote it?); fetch it: git fetch --force origin "+refs/tags/{tag}:refs/tags/{tag}"'
        )
    if event is None:
        raise UnknownVersionError(f"{tag} is not an active version of {state.name}")
    reference = f"{state.name}@v{event.version}"
    [checked] = verify(root, reference)
    problems = [f"{c.name}: {c.detail}" for c in checked.checks if not c.ok]
    notes: list[str] = []
    published = None
    manifests: tuple[str, ...] = ()
    strategy = ""
    if not problems:
        published, note, problem = _publish(root, reference)
        notes += [note] if note else []
        problems += [problem] if problem else []
        production = state.stages.get("production")
        stable = state.version(production) if production else None
        strategy, manifests, note = _render(root, state, event, stable, out_dir, weights)
        notes += [note] if note else []
    index = [e.tag for e in state.versions].index(tag)
    previous = state.versions[index - 1] if index else None
    production_event = state.version(state.stages.get("production") or "")
    if production_event is not None and production_event.tag == tag:
        production_event = None
    version, before, live = _documents(root, [event, previous, production_event])
    return ReleaseResult(
        tag=tag, kind=ReleaseKind.REGISTRATION, verified=checked.ok, problems=tuple(problems),
        manifests=manifests, out=str(out_dir), version=version, verification=checked,
        previous=before, production=live, strategy=strategy, published=published,
        notes=tuple(notes),
    )  # fmt: skip


def _release_assignment(
    root: Path,
    state: ModelState,
    tag: str,
    out_dir: Path,
    weights: str | None,
    policy_ref: str | None,
) -> ReleaseResult:
    from modelgit.commands.policy import check_stage_policy

    event = next((e for e in state.events if e.tag == tag), None)
    if event is None or event.version is None:
        raise UnknownVersionError(f"{tag} assigns no registered version of {state.name}")
    stage = str(event.stage)
    assigned = state.version(event.version)
    if assigned is None:
        raise UnknownVersionError(f"{tag} assigns {event.version}, which is not an active version")
    held = previous_holder(state, stage, event.counter or 0)
    stable = state.version(held) if held is not None and held != event.version else None
    version, before = _documents(root, [assigned, stable])
    judged = check_stage_policy(root, tag, policy_ref=policy_ref)
    if not judged.ok:  # nothing is rendered for a stage tag that breaks the policy
        return ReleaseResult(
            tag=tag, kind=ReleaseKind.ASSIGNMENT, verified=True,
            problems=tuple(f"policy: {problem}" for problem in judged.problems), manifests=(),
            out=str(out_dir), version=version, verification=None, stage=stage, stable=before,
        )  # fmt: skip
    notes = []
    if state.stages.get(stage) != event.version:
        notes.append(f"{tag} is no longer {stage}'s current assignment; rendered as it was")
    strategy, manifests, note = _render(root, state, assigned, stable, out_dir, weights)
    notes += [note] if note else []
    notes += [f"policy: {judged.rules}, signed by {judged.signer}"] if judged.rules else []
    return ReleaseResult(
        tag=tag, kind=ReleaseKind.ASSIGNMENT, verified=True, problems=(), manifests=manifests,
        out=str(out_dir), version=version, verification=None, stage=stage, stable=before,
        strategy=strategy, notes=tuple(notes),
    )  # fmt: skip


def previous_holder(state: ModelState, stage: str, counter: int) -> str | None:
    """The version `stage` held just before the assignment with GTO counter `counter`."""
    held: str | None = None
    moves = sorted(
        (e for e in state.events if e.stage == stage and (e.counter or 0) < counter),
        key=lambda e: e.counter or 0,
    )
    for move in moves:
        if move.action is Action.ASSIGN:
            held = str(move.version) if move.version is not None else held
        elif move.action is Action.UNASSIGN and (move.version is None or move.version == held):
            held = None
    return held


def _publish(root: Path, reference: str) -> tuple[PublishResult | None, str, str]:
    """Publish when the project has a DVC remote: (result, a note, a problem)."""
    from modelgit.commands.publish import publish
    from modelgit.sources.dvc import default_remote_url

    if default_remote_url(root) is None:
        return None, "not published: the project has no default DVC remote", ""
    try:
        return publish(root, reference), "", ""
    except ModelgitError as exc:
        return None, "", f"publish: {exc}"


def _render(
    root: Path,
    state: ModelState,
    event: Event,
    stable: Event | None,
    out_dir: Path,
    weights: str | None,
) -> tuple[str, tuple[str, ...], str]:
    """Render with the configured strategy; (strategy, files written, a note).

    A canary or blue-green rollout starts from `stable`; without one (a model's first
    release) the version is deployed plainly, as the only blue-green colour. `ab` needs
    weights (`--weights` or `deploy.weights`) and is deployed plainly without them.
    """
    from modelgit.commands.manifest import ManifestRequest, manifest

    settings = config.load(root).deploy
    strategy = str(settings.get("strategy") or Strategy.BLUEGREEN)
    weights = weights or (str(settings["weights"]) if settings.get("weights") else None)
    own = f"{state.name}@v{event.version}"
    note = ""
    request = ManifestRequest(own, strategy=strategy, out=out_dir / "manifests")
    if strategy in (Strategy.CANARY, Strategy.BLUEGREEN):
        if stable is None:
            note = f"first release of {state.name}: deployed plainly (nothing to roll out from)"
            request = replace(request, strategy=Strategy.BLUEGREEN, stable=own)
        else:
            request = replace(request, stable=f"{state.name}@v{stable.version}")
    elif strategy == Strategy.AB:
        if weights:
            request = replace(request, weights=weights)
        else:
            note = "ab without weights (--weights or deploy.weights): deployed plainly"
            request = replace(request, strategy=Strategy.BLUEGREEN, stable=own)
    result = manifest(root, request)
    return str(request.strategy), result.written, note


def ci_release_since(
    repo: Path | str,
    since: str,
    out: Path | str | None = None,
    *,
    weights: str | None = None,
    policy_ref: str | None = None,
) -> tuple[ReleaseResult, ...]:
    """Release every registration and stage tag created after `since` (a tag or a commit),
    oldest first, each into `<out>/<tag>/`: the catch-up for pushes CI did not see (GitHub
    sends no event for a push of more than three tags)."""
    root = root_of(repo)
    start = git.creation_time(root, since)
    if start is None:
        raise UnknownVersionError(f"--since {since!r} names no tag or commit (fetch it first?)")
    base = Path(out) if out is not None else root / "release"
    events = [
        e
        for state in registry.read(root).values()
        for e in state.events
        if e.action in (Action.REGISTER, Action.ASSIGN)
        and e.tag != since.removeprefix("refs/tags/")
        and _timestamp(e.created_at) >= start
    ]
    events.sort(key=lambda e: (_timestamp(e.created_at), e.model, e.counter or 0, e.tag))
    return tuple(
        ci_release(root, e.tag, base / _slug(e.tag), weights=weights, policy_ref=policy_ref)
        for e in events
    )


def _timestamp(created_at: str) -> float:
    try:
        return datetime.fromisoformat(created_at).timestamp()
    except ValueError:
        return 0.0


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
    stale: dict[str, list[str]] = field(default_factory=dict)  # stage -> why (DVC's status)
    require_fresh: bool = False

    @property
    def failed(self) -> bool:
        """True when a gate failed, or the pipeline is stale and freshness was required."""
        return any(g.failed for g in self.gates) or self.stale_failure

    @property
    def stale_failure(self) -> bool:
        """True when freshness was required and the head's pipeline is stale."""
        return self.require_fresh and bool(self.stale)


def ci_report(
    repo: Path | str = ".",
    base: str = "origin/main",
    fail_on: list[str] | None = None,
    *,
    require_fresh: bool = False,
) -> ReportResult:
    """For each model the change touches: the diff of base vs HEAD, and of production vs HEAD;
    and whether the head's dvc.lock is out of date with its params and code (DVC's status),
    which `require_fresh` makes a failure of the report."""
    from modelgit.analysis import gates
    from modelgit.commands import compare
    from modelgit.sources import dvc

    root = root_of(repo)
    stale = dvc.stale_inputs(root) if (root / ".dvc").is_dir() else {}
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
    return ReportResult(base, tuple(models), tuple(results), stale, require_fresh)
