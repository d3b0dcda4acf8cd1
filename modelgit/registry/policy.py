"""Stage policies: who may assign a stage, what must pass first, and which stage comes before.

Read from `.modelgit.yaml`::

    policy:
      production: {signed_by: [release-team], requires: [verify, scan], from: staging}
    allowed_signers: .modelgit/allowed_signers

`signed_by` names principals of the allowed-signers file, which is git's
`gpg.ssh.allowedSignersFile` format (ssh-keygen(1), "ALLOWED SIGNERS"): one key per line,
``principals [options] keytype base64-key [comment]``. A group is a principal like any other:
the line ``alice@example.com,release-team ssh-ed25519 AAAA...`` lets Alice's key sign as
`alice@example.com` and as `release-team`. Principals are ssh patterns (``*``, ``?``, ``!``), so
``*@release.example.com`` admits every key on that line for any matching name; a line whose
`namespaces=` option leaves out `git`, a `cert-authority` line, or a line outside its
`valid-after`/`valid-before` window admits no one.

Pure: parsing and deciding only; `commands/policy.py` reads files and asks git.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePosixPath

from modelgit.errors import ConfigError
from modelgit.sources.config import FILE, Config
from modelgit.values import TextEnum

_KEY_TYPE = re.compile(r"^(?:ssh-|ecdsa-|sk-)[a-z0-9@.\-]+$")
_TOKEN = re.compile(r'(?:"[^"]*"|[^\s"])+')
_OPTION = re.compile(r'(?:"[^"]*"|[^,"])+')
_TIMESTAMP = re.compile(r"^(\d{8})(\d{4}(\d{2})?)?(Z)?$")
_RULES = ("signed_by", "requires", "from")


class Requirement(TextEnum):
    """A check that must pass before a version enters a stage."""

    VERIFY = "verify"
    SCAN = "scan"


@dataclass(frozen=True)
class StagePolicy:
    """The rules of one stage."""

    stage: str
    signed_by: tuple[str, ...] = ()  # principals one of whom must sign its tags
    requires: tuple[Requirement, ...] = ()
    from_stage: str | None = None  # the stage a version must hold or have held first


@dataclass(frozen=True)
class Policy:
    """Every stage's rules and where the allowed signers are listed."""

    stages: dict[str, StagePolicy]
    allowed_signers: str  # a path relative to the repository root

    def of(self, stage: str | None) -> StagePolicy | None:
        """The rules of `stage`, or None when it has none."""
        return self.stages.get(stage or "")

    @property
    def needs_signers(self) -> bool:
        """True when some stage must be signed (so the allowed-signers file must exist)."""
        return any(rules.signed_by for rules in self.stages.values())


def _strings(value: object, what: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise ConfigError(f"{FILE}: {what} must be a name or a list of names")
    return tuple(i.strip() for i in items)


def _stage_policy(stage: str, rules: object, settings: Config) -> StagePolicy:
    if not isinstance(rules, dict):
        raise ConfigError(f"{FILE}: policy.{stage} must be a mapping of {', '.join(_RULES)}")
    unknown = sorted(str(k) for k in rules if k not in _RULES)
    if unknown:
        raise ConfigError(
            f"{FILE}: policy.{stage} has unknown keys {', '.join(unknown)}; use {', '.join(_RULES)}"
        )
    signed_by = _strings(rules.get("signed_by") or [], f"policy.{stage}.signed_by")
    requires = _strings(rules.get("requires") or [], f"policy.{stage}.requires")
    known = {r.value for r in Requirement}
    if any(r not in known for r in requires):
        bad = ", ".join(r for r in requires if r not in known)
        raise ConfigError(f"{FILE}: policy.{stage}.requires names {bad}; use verify, scan")
    before = rules.get("from")
    if before is not None and (not isinstance(before, str) or before not in settings.stages):
        raise ConfigError(
            f"{FILE}: policy.{stage}.from must be one of the stages ({', '.join(settings.stages)})"
        )
    if before == stage:
        raise ConfigError(f"{FILE}: policy.{stage}.from cannot be {stage} itself")
    return StagePolicy(stage, signed_by, tuple(Requirement(r) for r in requires), before)


def parse_policy(settings: Config) -> Policy:
    """The stage policies of a project's settings; a malformed rule raises ConfigError."""
    stages = {}
    for stage, rules in settings.policy.items():
        if stage not in settings.stages:
            raise ConfigError(
                f"{FILE}: policy names stage {stage!r}, which is not one of the stages "
                f"({', '.join(settings.stages)})"
            )
        stages[str(stage)] = _stage_policy(str(stage), rules, settings)
    path = PurePosixPath(settings.allowed_signers)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ConfigError(
            f"{FILE}: allowed_signers {settings.allowed_signers!r} must be a path inside the "
            "repository (CI reads it from the same checkout)"
        )
    return Policy(stages, str(path))


@dataclass(frozen=True)
class AllowedSigner:
    """One line of an allowed-signers file."""

    principals: str  # comma-separated ssh patterns, as written
    key_type: str
    fingerprint: str  # SHA256:..., as ssh-keygen -l prints it
    options: dict[str, str]
    line: int

    @property
    def name(self) -> str:
        """The first principal: how a signer is named in messages."""
        return self.principals.split(",")[0]

    def admits(self, principal: str, when: datetime | None) -> bool:
        """True when this line lets its key sign git objects as `principal` at `when`."""
        if "cert-authority" in self.options:
            return False
        namespaces = self.options.get("namespaces")
        if namespaces is not None and not matches(namespaces, "git"):
            return False
        if when is not None and not self._valid_at(when):
            return False
        return matches(self.principals, principal)

    def _valid_at(self, when: datetime) -> bool:
        after = self.options.get("valid-after")
        before = self.options.get("valid-before")
        if after is not None and when < _timestamp(after):
            return False
        return before is None or when < _timestamp(before)


def matches(patterns: str, name: str) -> bool:
    """ssh's pattern-list match: some `*`/`?` pattern matches and no `!pattern` does."""
    found = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in body)
        if re.fullmatch(regex, name, re.DOTALL):
            if negated:
                return False
            found = True
    return found


def _timestamp(text: str) -> datetime:
    """An allowed-signers time, YYYYMMDD[HHMM[SS]][Z]: UTC with Z, else the local time."""
    match = _TIMESTAMP.match(text)
    if match is None:
        raise ConfigError(f"allowed signers: {text!r} is not a YYYYMMDD[HHMM[SS]][Z] time")
    digits = match.group(1) + (match.group(2) or "0000")
    digits += "" if match.group(3) else "00"
    parsed = datetime.strptime(digits, "%Y%m%d%H%M%S")
    return parsed.replace(tzinfo=timezone.utc) if match.group(4) else parsed.astimezone()


def key_fingerprint(key_base64: str) -> str:
    """The SHA256 fingerprint of a public key blob, as `ssh-keygen -l` prints it."""
    try:
        blob = base64.b64decode(key_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{key_base64[:16]}... is not a base64 public key") from exc
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def public_key_fingerprint(text: str) -> str | None:
    """The fingerprint of a public key written `keytype base64 [comment]`, or None if it is not."""
    fields = text.strip().split()
    if len(fields) < 2 or not _KEY_TYPE.match(fields[0]):
        return None
    try:
        return key_fingerprint(fields[1])
    except ConfigError:
        return None


def _options(text: str) -> dict[str, str]:
    options = {}
    for option in _OPTION.findall(text):
        key, _, value = option.partition("=")
        options[key.strip().lower()] = value.strip().strip('"')
    return options


def parse_allowed_signers(text: str, source: str) -> tuple[AllowedSigner, ...]:
    """Every key line of an allowed-signers file; a malformed line raises ConfigError."""
    signers = []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = _TOKEN.findall(line.strip())
        if not tokens or tokens[0].startswith("#"):
            continue
        options = {}
        rest = tokens[1:]
        if rest and not _KEY_TYPE.match(rest[0]):
            options, rest = _options(rest[0]), rest[1:]
        if len(rest) < 2 or not _KEY_TYPE.match(rest[0]):
            raise ConfigError(
                f"{source}:{number}: expected `principals [options] keytype key`, as "
                "gpg.ssh.allowedSignersFile lines are written"
            )
        try:
            fingerprint = key_fingerprint(rest[1])
        except ConfigError as exc:
            raise ConfigError(f"{source}:{number}: {exc}") from exc
        principals = tokens[0].strip('"')
        signers.append(AllowedSigner(principals, rest[0], fingerprint, options, number))
    return tuple(signers)


def admitting(
    signers: tuple[AllowedSigner, ...],
    fingerprint: str,
    names: tuple[str, ...],
    when: datetime | None,
) -> AllowedSigner | None:
    """The line that lets the key `fingerprint` sign as one of `names` at `when`, if any."""
    for signer in signers:
        if signer.fingerprint == fingerprint and any(signer.admits(n, when) for n in names):
            return signer
    return None


def listed(signers: tuple[AllowedSigner, ...], fingerprint: str) -> AllowedSigner | None:
    """The first line that lists the key `fingerprint` at all."""
    return next((s for s in signers if s.fingerprint == fingerprint), None)
