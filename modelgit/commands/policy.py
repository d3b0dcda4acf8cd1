"""Stage policies enforced: before a stage tag is written, and on the tags already written.

`authorize` is the hook stage commands call before writing a stage tag: it refuses a version
that skipped the stage it must come from, a local signing key the policy does not admit, and a
version that fails the required checks, and says whether to sign. `check_policy` (`verify
--policy`) and `check_stage_policy` (`ci release` on a stage tag) judge tags already written:
unsigned, signed by a key the allowed-signers file does not admit for the stage, or a version
that had not held the `from` stage.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from modelgit.errors import (
    ConfigError,
    InvalidNameError,
    PolicyError,
    SigningSetupError,
    UnknownVersionError,
)
from modelgit.registry import state as registry
from modelgit.registry.lookup import model_state, read_metadata, root_of
from modelgit.registry.policy import (
    AllowedSigner,
    Policy,
    Requirement,
    StagePolicy,
    admitting,
    listed,
    parse_allowed_signers,
    parse_policy,
    public_key_fingerprint,
)
from modelgit.registry.state import Event, ModelState
from modelgit.registry.tags import Action, check_version, parse_tag
from modelgit.sources import config, git
from modelgit.sources.tree import Tree

_STAGE_ACTIONS = (Action.ASSIGN, Action.UNASSIGN)


@dataclass(frozen=True)
class StageTagCheck:
    """One stage tag judged against its stage's policy."""

    tag: str
    model: str
    stage: str
    version: str | None  # None for an unassignment
    in_force: bool  # the tag decides what the stage holds now
    rules: str  # the policy applied, in words ("" when the stage has none)
    signer: str | None = None  # the admitted signer, `principal (SHA256:...)`
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the tag keeps its stage's policy."""
        return not self.problems


@dataclass(frozen=True)
class PolicyReport:
    """Every stage tag `verify --policy` judged, and where the policy was read."""

    source: str  # `the work tree` or the revision the policy came from
    checks: tuple[StageTagCheck, ...]

    @property
    def ok(self) -> bool:
        """True when every judged tag keeps its stage's policy."""
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> tuple[str, ...]:
        """The tags that break the policy."""
        return tuple(check.tag for check in self.checks if not check.ok)


@dataclass(frozen=True)
class _Rules:
    """A policy with its allowed signers, as read from the work tree or a revision."""

    policy: Policy
    signers: tuple[AllowedSigner, ...]
    signers_text: str | None
    source: str


def _load(root: Path, policy_ref: str | None = None) -> _Rules:
    """The policy and allowed signers from the work tree, or from `policy_ref` when given."""
    if policy_ref is None:
        settings, tree, source = config.load(root), Tree(root), "the work tree"
    else:
        commit = git.resolve_commit(root, policy_ref)
        if commit is None:
            raise UnknownVersionError(f"--policy-ref {policy_ref!r} is not a git revision")
        tree, source = Tree(root, commit), policy_ref
        document = tree.read([config.FILE])[config.FILE]
        settings = (
            config.parse(document.decode("utf-8", "replace")) if document else config.Config()
        )
    policy = parse_policy(settings)
    raw = tree.read([policy.allowed_signers])[policy.allowed_signers]
    if raw is None and policy.needs_signers:
        raise ConfigError(
            f"{policy.allowed_signers} does not exist in {source}; list the SSH keys allowed "
            "to sign stage tags there (git's gpg.ssh.allowedSignersFile format)"
        )
    text = raw.decode("utf-8", "replace") if raw is not None else None
    signers = parse_allowed_signers(text, policy.allowed_signers) if text else ()
    return _Rules(policy, signers, text, source)


def describe(rules: StagePolicy) -> str:
    """A stage's policy in words: `signed by release-team; requires verify, scan; from staging`."""
    parts = []
    if rules.signed_by:
        parts.append(f"signed by {' or '.join(rules.signed_by)}")
    if rules.requires:
        parts.append(f"requires {', '.join(rules.requires)}")
    if rules.from_stage:
        parts.append(f"from {rules.from_stage}")
    return "; ".join(parts) or "no rules"


def _order(event: Event) -> tuple[bool, int, str]:
    """Stage events in the order the registry decides by: GTO's counter (see registry.state)."""
    return (event.counter is not None, event.counter or 0, event.created_at)


def _when(event: Event) -> datetime | None:
    try:
        return datetime.fromisoformat(event.created_at)
    except ValueError:
        return None


class _Judge:
    """Judges stage tags of one repository against one policy, each signature verified once."""

    def __init__(self, root: Path, rules: _Rules, signers_file: Path | None) -> None:
        self.root = root
        self.rules = rules
        self.signers_file = signers_file
        self._signatures: dict[str, tuple[str | None, str | None]] = {}

    def signature(self, event: Event, stage_rules: StagePolicy) -> tuple[str | None, str | None]:
        """(the admitted signer, None) or (None, why the tag's signature does not satisfy)."""
        if event.tag not in self._signatures:
            self._signatures[event.tag] = self._judge_signature(event, stage_rules)
        return self._signatures[event.tag]

    def _judge_signature(self, event: Event, rules: StagePolicy) -> tuple[str | None, str | None]:
        names = " or ".join(rules.signed_by)
        [raw] = git.cat_objects(self.root, [event.object_id])
        _, signed = git.tag_message(raw or b"")
        if not signed:
            return None, f"is not signed ({rules.stage} tags must be signed by {names})"
        if git.SSH_SIGNATURE_START not in (raw or b""):
            return None, f"is signed with OpenPGP; {rules.stage} needs an SSH signature by {names}"
        assert self.signers_file is not None  # a policy with signed_by has its file (see _load)
        found = git.verify_tag_ssh(self.root, event.tag, self.signers_file)
        path = self.rules.policy.allowed_signers
        if found.fingerprint is None:
            return None, f"its signature does not verify: {found.detail}"
        line = listed(self.rules.signers, found.fingerprint)
        if not found.verified:
            if line is None:
                return None, f"is signed by a key that is not in {path} ({found.fingerprint})"
            return None, f"its signature does not verify: {found.detail}"
        admitted = admitting(self.rules.signers, found.fingerprint, rules.signed_by, _when(event))
        if admitted is None:
            who = line.name if line is not None else "an unlisted key"
            return None, (
                f"is signed by {who} ({found.fingerprint}), whom {path} does not admit as {names}"
            )
        return f"{admitted.name} ({found.fingerprint})", None

    def held_before(self, state: ModelState, version: str, stage: str, tag: Event | None) -> bool:
        """Whether an assignment of `version` to `stage` came before `tag` (before now if None),
        one that itself keeps `stage`'s signing rule."""
        rules = self.rules.policy.of(stage)
        for event in state.events:
            if event.action is not Action.ASSIGN or event.stage != stage:
                continue
            if event.version != version or (tag is not None and _order(event) >= _order(tag)):
                continue
            if rules is None or not rules.signed_by or self.signature(event, rules)[1] is None:
                return True
        return False

    def check(self, state: ModelState, event: Event, in_force: bool) -> StageTagCheck:
        """Judge one stage tag."""
        stage = event.stage or ""
        rules = self.rules.policy.of(stage)
        version = str(event.version) if event.version is not None else None
        if event.action is Action.UNASSIGN:
            version = None
        if rules is None:
            return StageTagCheck(event.tag, state.name, stage, version, in_force, "")
        problems: list[str] = []
        signer = None
        if event.action is Action.ASSIGN and version is None:
            problems.append(f"points at {event.commit[:12]}, where no version of "
                            f"{state.name} is registered")  # fmt: skip
        if rules.signed_by:
            signer, problem = self.signature(event, rules)
            if problem is not None:
                problems.append(problem)
        before = rules.from_stage
        if before and version is not None and not self.held_before(state, version, before, event):
            problems.append(f"v{version} had not been in {before} before it ({stage} takes "
                            f"versions from {before})")  # fmt: skip
        return StageTagCheck(
            event.tag, state.name, stage, version, in_force, describe(rules), signer,
            tuple(problems),
        )  # fmt: skip


@contextlib.contextmanager
def _judge(root: Path, rules: _Rules) -> Iterator[_Judge]:
    """A judge with the allowed signers in a file git can read (they may come from a revision)."""
    if rules.signers_text is None:
        yield _Judge(root, rules, None)
        return
    with tempfile.TemporaryDirectory(prefix="modelgit-signers-") as folder:
        path = Path(folder) / "allowed_signers"
        path.write_text(rules.signers_text)
        yield _Judge(root, rules, path)


def _in_force(state: ModelState, stage: str) -> Event | None:
    """The stage tag that decides what `stage` holds now: the largest counter."""
    events = [e for e in state.events if e.action in _STAGE_ACTIONS and e.stage == stage]
    return max(events, key=_order, default=None)


def check_policy(
    repo: Path | str = ".",
    model: str | None = None,
    *,
    history: bool = False,
    policy_ref: str | None = None,
) -> PolicyReport:
    """Judge the stage tags in force (with `history`, every stage tag ever written) of `model`
    (default: every model) against the stage policies of `.modelgit.yaml`."""
    root = root_of(repo)
    rules = _load(root, policy_ref)
    if not rules.policy.stages:
        raise ConfigError(
            f"{config.FILE} in {rules.source} has no `policy:` section; there is nothing to "
            "check stage tags against"
        )
    states = registry.read(root) if model is None else {model: model_state(root, model)}
    checks = []
    with _judge(root, rules) as judge:
        for state in states.values():
            for stage in rules.policy.stages:
                current = _in_force(state, stage)
                chosen = [
                    e for e in state.events
                    if e.action in _STAGE_ACTIONS and e.stage == stage and (history or e == current)
                ]  # fmt: skip
                for event in sorted(chosen, key=_order):
                    checks.append(judge.check(state, event, event == current))
    return PolicyReport(rules.source, tuple(checks))


def check_stage_policy(
    repo: Path | str, tag: str, *, policy_ref: str | None = None
) -> StageTagCheck:
    """Judge one stage tag (`churn#production#7`) against its stage's policy; `ci release` on a
    stage tag calls this before anything deploys."""
    root = root_of(repo)
    name = tag.removeprefix("refs/tags/")
    parsed = parse_tag(name)
    if parsed is None or parsed.action not in _STAGE_ACTIONS:
        raise InvalidNameError(f"{tag!r} is not a stage tag (<model>#<stage>#<N>)")
    rules = _load(root, policy_ref)
    state = model_state(root, parsed.model)
    event = next((e for e in state.events if e.tag == name), None)
    if event is None:
        raise UnknownVersionError(f"{name} is not an annotated tag in this repository")
    with _judge(root, rules) as judge:
        return judge.check(state, event, event == _in_force(state, event.stage or ""))


def authorize(root: Path, state: ModelState, event: Event, stage: str, action: Action) -> bool:
    """Before a stage tag is written: refuse what `stage`'s policy forbids; True when the tag
    must be signed. `event` is the version's registration."""
    rules = _load(root)
    stage_rules = rules.policy.of(stage)
    if stage_rules is None:
        return False
    version = str(event.version or "")
    with _judge(root, rules) as judge:
        before = stage_rules.from_stage
        if action is Action.ASSIGN and before and not judge.held_before(state, version, before,
                                                                        None):  # fmt: skip
            raise PolicyError(
                f"{state.name} v{version} has not been in {before}; the {stage} policy takes "
                f"versions from {before} only (promote it to {before} first)"
            )
        if stage_rules.signed_by:
            _require_signing_key(root, rules, stage_rules)
        # A version that held the stage before passed its checks then; going back to it (a
        # rollback, perhaps in an emergency) must not wait on the DVC cache or a remote.
        if action is Action.ASSIGN and not judge.held_before(state, version, stage, None):
            for requirement in stage_rules.requires:
                _run_requirement(root, event, stage, requirement)
    return bool(stage_rules.signed_by)


def ensure_rollback_allowed(repo: Path | str, model: str | None, version: str, stage: str) -> None:
    """Before a rollout: refuse when the policy would forbid rolling `stage` back to the version
    it holds now, so that a failed rollout never leaves the new version in place."""
    root = root_of(repo)
    state = model_state(root, model)
    previous = state.stages.get(stage)
    rules = _load(root)
    stage_rules = rules.policy.of(stage)
    if previous is None or previous == check_version(version) or stage_rules is None:
        return
    before = stage_rules.from_stage
    with _judge(root, rules) as judge:
        if before and not judge.held_before(state, str(previous), before, None):
            raise PolicyError(
                f"a failed rollout could not roll {stage} back to v{previous}: it has not been "
                f"in {before}, as the {stage} policy requires; promote v{previous} to {before} "
                "first"
            )


def _require_signing_key(root: Path, rules: _Rules, stage_rules: StagePolicy) -> None:
    """Refuse up front unless git will sign with an SSH key the policy admits for the stage."""
    stage, names = stage_rules.stage, " or ".join(stage_rules.signed_by)
    path = rules.policy.allowed_signers
    if git.config_value(root, "gpg.format") != "ssh":
        raise SigningSetupError(
            f"{stage} tags must carry an SSH signature by {names} (listed in {path}); run "
            "`git config gpg.format ssh` and `git config user.signingkey <your key>.pub`"
        )
    key = git.config_value(root, "user.signingkey")
    if key is None:
        raise SigningSetupError(
            f"{stage} tags must be signed by {names}; set `git config user.signingkey` to your "
            f"SSH public key (one {path} lists)"
        )
    fingerprint = signing_key_fingerprint(root, key)
    if fingerprint is None:
        raise SigningSetupError(
            f"cannot read the public key of user.signingkey {key!r}; point it at the .pub "
            "file, or keep the .pub next to the private key"
        )
    now = datetime.now(timezone.utc)
    if admitting(rules.signers, fingerprint, stage_rules.signed_by, now) is None:
        line = listed(rules.signers, fingerprint)
        who = f"is listed as {line.name} but" if line is not None else f"is not in {path}, so it"
        raise PolicyError(
            f"your signing key {fingerprint} (user.signingkey) {who} may not sign {stage} "
            f"tags, which must be signed by {names}"
        )


def signing_key_fingerprint(root: Path, key: str) -> str | None:
    """The fingerprint of the key `user.signingkey` names: a literal public key (`key::...`)
    or a file (a public key, or a private key with its `.pub` beside it)."""
    literal = public_key_fingerprint(key.removeprefix("key::"))
    if literal is not None:
        return literal
    path = Path(key).expanduser()
    path = path if path.is_absolute() else root / path
    for candidate in (path, path.with_name(path.name + ".pub")):
        if candidate.is_file():
            try:
                first = candidate.read_text(errors="replace").strip().splitlines()
            except OSError:
                continue
            found = public_key_fingerprint(first[0]) if first else None
            if found is not None:
                return found
    return None


def _run_requirement(root: Path, event: Event, stage: str, requirement: Requirement) -> None:
    """Run one required check on the version; a failure refuses the stage change."""
    if requirement is Requirement.VERIFY:
        from modelgit.commands.verify import verify

        [result] = verify(root, event.tag)
        if not result.ok:
            failed = "; ".join(f"{c.name}: {c.detail}" for c in result.checks if not c.ok)
            raise PolicyError(f"the {stage} policy requires verify, and {event.tag} fails it: "
                              f"{failed}")  # fmt: skip
    else:
        _require_scan(root, event, stage)


def _require_scan(root: Path, event: Event, stage: str) -> None:
    """The version's artifact, when pickle-based, must import no global that runs code."""
    from modelgit.model.pickles import PICKLE_SUFFIXES, scan_artifact
    from modelgit.model.pickles.allowlist import AllowList
    from modelgit.sources import dvc

    document, problem, _ = read_metadata(root, event)
    artifact = (document or {}).get("artifact") or {}
    path, md5 = str(artifact.get("path") or ""), str(artifact.get("md5") or "")
    if document is None or not path or not md5:
        raise PolicyError(f"the {stage} policy requires scan, and {event.tag} records no "
                          f"artifact to scan ({problem or 'no artifact'})")  # fmt: skip
    if Path(path).suffix.lower() not in PICKLE_SUFFIXES and not md5.endswith(".dir"):
        return  # not pickle-based: nothing in it runs on load
    cached = dvc.cache_path(root, md5)
    if cached is None:
        where = "a directory artifact's files" if md5.endswith(".dir") else f"{path} ({md5})"
        raise PolicyError(
            f"the {stage} policy requires scan, and {where} cannot be scanned from the DVC "
            "cache; `dvc pull` the version first"
        )
    allow = AllowList.of(config.load(root).scan_allow)
    findings = scan_artifact(root, cached, md5, allow)  # remembered by md5: scans once
    if findings:
        names = "; ".join(sorted({f.text for f in findings}))
        raise PolicyError(
            f"the {stage} policy requires scan, and {path} of {event.tag} imports globals "
            f"that run code on load ({names})"
        )
