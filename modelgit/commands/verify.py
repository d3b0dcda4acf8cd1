"""`verify`: a version is what its tag says.

Every metadata field its commit determines is derived again (by `model.facts`, the reader bump
used) and compared with the tag; the artifact's bytes, each file of a directory included, are
hashed again; a signed tag's signature is checked. Each check ends ok, FAILED or not checked
(with why), and a version is verified only when every check ran and passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from modelgit.analysis.mismatches import Mismatch, differences
from modelgit.errors import ModelgitError
from modelgit.model import facts
from modelgit.model.rehash import Rehash, rehash
from modelgit.registry import metadata
from modelgit.registry.lookup import is_deprecated, model_state, pick, read_metadata, root_of
from modelgit.registry.state import Event
from modelgit.registry.tags import split_reference
from modelgit.sources import git
from modelgit.sources.pipeline import Pipeline, load, read_artifacts
from modelgit.sources.tree import Tree
from modelgit.values import Progress, TextEnum

# The fields a commit determines, in the order DESIGN 3.3 gives them. Environment and training
# count only when the pipeline writes them to files the artifact's meta names; `intermediate`
# only past the outputs `data` lists in full (model/inputs.py).
DERIVABLE = (
    "artifact", "fingerprint", "data", "intermediate", "stages", "params", "metrics",
    "features", "schema_signature", "parents", "environment", "training",
)  # fmt: skip
_WHEN_DECLARED = ("intermediate", "environment", "training")
_IDENTITY = ("schema", "model", "version", "commit")  # checked against the tag itself


class Status(TextEnum):
    """How one check ended."""

    OK = "ok"
    FAILED = "FAILED"
    NOT_CHECKED = "not checked"


class Verdict(TextEnum):
    """What the checks of one version add up to."""

    VERIFIED = "verified"  # every check ran and passed
    PARTLY = "partly verified"  # nothing failed; checks were left out on request (--no-bytes)
    NOT_VERIFIED = "not verified"  # nothing failed, but a check could not run
    FAILED = "FAILED"


@dataclass(frozen=True)
class Check:
    """One property of a version, and how checking it ended."""

    name: str
    status: Status
    detail: str
    mismatches: tuple[Mismatch, ...] = ()  # for a field: each value the commit does not give
    problems: tuple[str, ...] = ()  # for bytes: each changed, missing or extra file, named
    waived: bool = False  # not checked on purpose: asked so (`--no-bytes`), or bytes gc freed

    @property
    def ok(self) -> bool:
        """True when the check ran and passed."""
        return self.status is Status.OK


@dataclass(frozen=True)
class Verification:
    """Every check of one version and the fields it records that no commit can confirm."""

    model: str
    version: str
    tag: str
    commit: str
    checks: tuple[Check, ...]
    not_derivable: tuple[str, ...] = ()  # recorded, not derivable (created_by, environment, ...)
    notes: tuple[str, ...] = ()
    deprecated: bool = False  # the version was deregistered since (`modelgit deprecate`)

    @property
    def verdict(self) -> Verdict:
        """VERIFIED only when every check ran and passed."""
        if any(c.status is Status.FAILED for c in self.checks):
            return Verdict.FAILED
        skipped = [c for c in self.checks if c.status is Status.NOT_CHECKED]
        if any(not c.waived for c in skipped):
            return Verdict.NOT_VERIFIED
        return Verdict.PARTLY if skipped else Verdict.VERIFIED

    @property
    def ok(self) -> bool:
        """True when nothing failed and every check ran that was not waived on request."""
        return self.verdict in (Verdict.VERIFIED, Verdict.PARTLY)


@dataclass(frozen=True)
class _Derived:
    """What the version's commit says: its fields, or why they cannot be read."""

    fields: dict[str, Any] = field(default_factory=dict)
    pipe: Pipeline | None = None
    problem: str | None = None


def verify(
    repo: Path | str = ".",
    reference: str | None = None,
    *,
    all_versions: bool = False,
    require_signed: bool = False,
    check_bytes: bool = True,
    progress: Progress | None = None,
) -> list[Verification]:
    """Verify one version (latest by default), or with `all_versions` every version of the model;
    `check_bytes=False` leaves the artifact's bytes unhashed (reported as not checked)."""
    root = root_of(repo)
    model, version, stage = (
        split_reference(reference) if reference is not None else (None, None, None)
    )
    _check_annotated(root, model, version)
    state = model_state(root, model)
    # Deprecated versions are verified too (and marked): their tags are history, and a
    # tampered one matters as much as an active one.
    events = (
        state.registrations() if all_versions else [pick(state, version, stage, deprecated_ok=True)]
    )
    return [
        replace(
            verify_one(
                root, event, require_signed=require_signed, check_bytes=check_bytes,
                progress=progress, retired=is_deprecated(state, event),
            ),
            deprecated=is_deprecated(state, event),
        )
        for event in events
    ]  # fmt: skip


def verify_one(
    root: Path,
    event: Event,
    *,
    require_signed: bool = False,
    check_bytes: bool = True,
    progress: Progress | None = None,
    retired: bool = False,
) -> Verification:
    """Every check of one version (`retired`: deregistered, so `gc` may have freed its bytes)."""
    document, problem, signed = read_metadata(root, event)
    checks = [Check("tag", Status.OK, f"{event.tag} is an annotated tag on {event.commit[:12]}")]
    derived = _derive(root, event, document)
    not_derivable: tuple[str, ...] = ()
    if document is None:
        checks.append(Check("metadata", Status.FAILED, problem or "no metadata"))
        checks.append(_pipeline_check(event, derived))
        checks.append(Check("fields", Status.NOT_CHECKED, "the tag carries no metadata to compare"))
    else:
        checks.append(Check("metadata", Status.OK, "parses, and names this model and version"))
        checks.append(_commit_check(event, document))
        checks.append(_pipeline_check(event, derived))
        checks += _field_checks(event, document, derived, check_bytes)
        not_derivable = tuple(
            k for k in document if k not in _IDENTITY and not _compared(k, derived)
        )
    checks.append(_bytes_check(root, document or {}, derived, check_bytes, progress, retired))
    notes: tuple[str, ...] = ()
    signature = _signature(root, event, signed, require_signed)
    if signature is not None:
        checks.append(signature)
    else:
        notes = ("the tag is not signed (--require-signed demands a signature)",)
    return Verification(
        event.model, event.version or "", event.tag, event.commit, tuple(checks), not_derivable,
        notes,
    )  # fmt: skip


def _derive(root: Path, event: Event, document: dict[str, Any] | None) -> _Derived:
    """The metadata fields the version's commit determines, through bump's own reader, in the
    form the tag took: a tag without an `intermediate` record lists every intermediate output
    in `data` (tags written before the bound did, whatever the pipeline's length)."""
    try:
        pipe = load(Tree(root, event.commit))
        artifact = read_artifacts(pipe.dvcfiles).get(event.model)
        if artifact is None:
            return _Derived(problem=f"{event.model} is not declared in a dvc.yaml at that commit")
        list_all = document is not None and "intermediate" not in document
        fields = facts.metadata_fields(
            root, pipe, artifact, workspace=False, list_all_data=list_all
        )
        return _Derived(fields, pipe)
    except ModelgitError as exc:
        return _Derived(problem=str(exc))


def _compared(key: str, derived: _Derived) -> bool:
    """True when `key` is a field verify compares (given what the commit lets it derive)."""
    if key not in DERIVABLE:
        return False
    return key not in _WHEN_DECLARED or key in derived.fields


def _pipeline_check(event: Event, derived: _Derived) -> Check:
    if derived.problem is not None:
        return Check("pipeline", Status.FAILED, f"at {event.commit[:12]}: {derived.problem}")
    artifact = derived.fields["artifact"]
    return Check("pipeline", Status.OK, (
        f"at {event.commit[:12]}, dvc.yaml declares {event.model} as {artifact['path']} and DVC "
        "records its hash"
    ))  # fmt: skip


def _commit_check(event: Event, document: dict[str, Any]) -> Check:
    recorded = str(document.get("commit") or "")
    if recorded == event.commit:
        return Check("commit", Status.OK, f"the metadata was made for {event.commit[:12]}")
    return Check("commit", Status.FAILED, (
        f"the tag points at {event.commit[:12]} but its metadata was made for "
        f"{recorded[:12] or 'no commit'} (re-pointed?)"
    ))  # fmt: skip


def _field_checks(
    event: Event, document: dict[str, Any], derived: _Derived, check_bytes: bool
) -> list[Check]:
    """One check per derivable field: the tag's value against the commit's."""
    names = [k for k in DERIVABLE if k not in _WHEN_DECLARED or k in derived.fields]
    if derived.problem is not None:
        why = "the commit's pipeline cannot be read (see pipeline)"
        return [Check(name, Status.NOT_CHECKED, why) for name in names]
    checks = []
    for name in names:
        recorded, found = document.get(name), derived.fields.get(name)
        if name == "parents":
            mismatches = _parent_mismatches(recorded, found)
        else:
            mismatches = differences(name, recorded, found)
        if name == "fingerprint":
            mismatches += _fingerprint_consistency(document)
        if name == "metrics" and mismatches:
            unread = _unread_metrics(derived, event)
            if unread:
                checks.append(_unread_check(unread, mismatches, check_bytes))
                continue
        if mismatches:
            detail = "; ".join(str(m) for m in mismatches)
            checks.append(Check(name, Status.FAILED, detail, tuple(mismatches)))
        else:
            checks.append(Check(name, Status.OK, _agreement(name, found)))
    return checks


def _agreement(name: str, value: Any) -> str:
    """What an agreeing field holds, in a few words."""
    if value in (None, [], {}):
        return "none recorded, none derived"
    if name == "artifact":
        return f"{value['path']} md5 {value['md5']}, {value['size']} bytes, as the commit has it"
    if name == "fingerprint":
        return f"{value}, as recomputed from the commit"
    if name == "data":
        paths = ", ".join(str(d.get("path")) for d in value)
        return f"{paths}: md5s and sizes as dvc.lock has them"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return f"{', '.join(value)}, as the commit has them"
    if name in ("params", "metrics"):
        return f"{len(value)} {name}, each as the commit has it"
    return "as the commit has it"


def _parent_mismatches(recorded: Any, derived: Any) -> list[Mismatch]:
    """Parents by name; a recorded bare name agrees with a version of that parent registered
    after this version was (bump records the bare name when no version of the parent exists)."""
    if not isinstance(recorded, list) or not isinstance(derived, list):
        return differences("parents", recorded, derived)
    old = {str(p).split("@")[0]: str(p) for p in recorded}
    new = {str(p).split("@")[0]: str(p) for p in derived}
    found = []
    for name in [*new, *(n for n in old if n not in new)]:
        was, now = old.get(name), new.get(name)
        if was == now or (was == name and now is not None):
            continue
        found.append(Mismatch(f"parents[{name}]", was, now))
    return found


def _fingerprint_consistency(document: dict[str, Any]) -> list[Mismatch]:
    """The recorded fingerprint against the recorded fields it claims to be computed from."""
    try:
        recomputed = metadata.fingerprint(
            str((document.get("artifact") or {}).get("md5") or ""),
            document.get("params") or {},
            list(document.get("data") or []),
        )
    except (AttributeError, KeyError, TypeError):
        recomputed = "cannot be recomputed: artifact, params or data are malformed"
    recorded = document.get("fingerprint")
    if recomputed == recorded:
        return []
    return [Mismatch("fingerprint (over the recorded fields)", recorded, recomputed)]


def _unread_metrics(derived: _Derived, event: Event) -> tuple[str, ...]:
    """Why metrics files could not be read (kept by DVC and nowhere to be found), if any."""
    if derived.pipe is None:
        return ()
    return facts.read_pipeline(derived.pipe, event.model).problems


def _unread_check(unread: tuple[str, ...], mismatches: list[Mismatch], check_bytes: bool) -> Check:
    """Metrics whose files cannot be read: their bytes are missing, like an artifact's."""
    readable = tuple(m for m in mismatches if m.derived is not None)
    if not check_bytes and not readable:
        return Check("metrics", Status.NOT_CHECKED, f"--no-bytes: {'; '.join(unread)}", waived=True)
    detail = "; ".join([*unread, *map(str, readable)])
    return Check("metrics", Status.FAILED, detail, readable, problems=unread)


def _bytes_check(
    root: Path,
    document: dict[str, Any],
    derived: _Derived,
    check_bytes: bool,
    progress: Progress | None,
    retired: bool = False,
) -> Check:
    """The artifact's bytes (every file of a directory) hashed again against the commit's hash;
    a retired version's bytes found nowhere are not checked (`gc` frees them on purpose)."""
    if not check_bytes:
        return Check("artifact bytes", Status.NOT_CHECKED, "--no-bytes: not hashed", waived=True)
    # The commit's dvc.lock says which bytes the version is; the tag's copy when it cannot be read.
    artifact = derived.fields.get("artifact") or document.get("artifact") or {}
    path, md5, size = artifact.get("path"), artifact.get("md5"), artifact.get("size")
    if not path or not md5:
        return Check("artifact bytes", Status.NOT_CHECKED, "no artifact hash to check against")
    found = rehash(root, str(path), str(md5), size if isinstance(size, int) else None, progress)
    if retired and found.absent:
        why = "the version is retired, and its bytes are gone from the cache and the remote "
        return Check("artifact bytes", Status.NOT_CHECKED, why + "(gc frees them)", waived=True)
    if not found.ok:
        return Check("artifact bytes", Status.FAILED, "; ".join(found.problems),
                     problems=found.problems)  # fmt: skip
    return Check("artifact bytes", Status.OK, _hashed(found, str(md5)))


def _hashed(found: Rehash, md5: str) -> str:
    where = " and the ".join(found.sources)
    if md5.endswith(".dir"):
        files = f"{found.files} file{'s' if found.files != 1 else ''}"
        return (
            f"{found.path}: {files} from the {where} ({found.size} bytes), each as its listing "
            f"in the {found.listing} ({md5}) says"
        )
    return f"{found.path} from the {where} hashes to {md5}"


def _signature(root: Path, event: Event, signed: bool, require: bool) -> Check | None:
    if not signed:
        return Check("signature", Status.FAILED, "the tag is not signed") if require else None
    refused = git.verify_tag(root, event.tag)
    if refused is not None:
        return Check("signature", Status.FAILED, f"the signature does not verify: {refused}")
    return Check("signature", Status.OK, "the signature verifies")


def _check_annotated(root: Path, model: str | None, version: str | None) -> None:
    """A lightweight tag with a version's name is not a version: say so rather than 'unknown'."""
    if model is None or version is None:
        return
    from modelgit.errors import VerificationError
    from modelgit.registry.tags import model_from_tag, version_tag

    tag = version_tag(model_from_tag(model), version)
    kind = git.tag_object_type(root, tag)
    if kind is not None and kind != "tag":
        raise VerificationError(
            f"{tag} is a lightweight tag: it carries no metadata and is not a version"
        )
