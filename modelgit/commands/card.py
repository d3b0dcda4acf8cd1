"""`card`: what one version is, for a person: metrics against the previous and production
versions, data, lineage, schema, environment, trust, and a migration guide for a major bump."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelgit.analysis.autobump import is_breaking
from modelgit.analysis.migration import migration_notes
from modelgit.analysis.pipeline_graph import pipeline_graph, upstream
from modelgit.errors import ModelgitError, OutputFileError
from modelgit.model.metrics import directions_of
from modelgit.pages.cards import (
    CARD_MARKER,
    BreakingCommit,
    CardLineage,
    ModelCard,
    drawn_lineage,
    metric_rows,
    production_stage,
    recorded_lineage,
)
from modelgit.registry.deprecations import deregistrations, reasons
from modelgit.registry.lookup import is_deprecated, model_state, pick, read_metadata, root_of
from modelgit.registry.state import Event, ModelState
from modelgit.registry.tags import split_reference
from modelgit.registry.versions import Version, version_key
from modelgit.sources import config, git
from modelgit.sources.pipeline import Artifact, load, read_artifacts
from modelgit.sources.tree import Tree


def pipeline_lineage(root: Path, model: str, commit: str) -> CardLineage | None:
    """The lineage the version's commit's pipeline gives (the whole upstream DAG); None when
    that pipeline does not parse or has a cycle (the card then draws what the metadata
    records)."""
    try:
        pipe = load(Tree(root, commit))
        graph = upstream(pipeline_graph(pipe, read_artifacts(pipe.dvcfiles)), model)
    except ModelgitError:
        return None
    return drawn_lineage(graph)


def _signature(root: Path, event: Event, signed: bool) -> str:
    if not signed:
        return "unsigned"
    reason = git.verify_tag(root, event.tag)
    return "verified" if reason is None else f"does not verify: {reason}"


def _declaration(root: Path, commit: str, model: str) -> Artifact | None:
    try:
        return read_artifacts(load(Tree(root, commit)).dvcfiles).get(model)
    except ModelgitError:  # the card still shows what the tag records
        return None


def recorded_previous(
    registered: Mapping[str, Event], event: Event, document: dict[str, Any]
) -> Event | None:
    """The registration of the version `event`'s metadata records as its previous one, when
    that was ever registered below it (deprecated or retired since included); `registered`
    maps each registered version (as text) to its registration."""
    recorded = document.get("previous")
    found = registered.get(str(recorded)) if recorded else None
    if found is not None and version_key(found.version or "") < version_key(event.version or ""):
        return found
    return None


def _previous(state: ModelState, event: Event, document: dict[str, Any]) -> Event | None:
    """The version `event`'s metadata records as its previous one, else the highest active
    one below it (the site compares the same way)."""
    registered = {str(e.version): e for e in state.registrations()}
    recorded = recorded_previous(registered, event, document)
    if recorded is not None:
        return recorded
    older = [
        e for e in state.versions if version_key(e.version or "") < version_key(event.version or "")
    ]
    return older[-1] if older else None


def breaking_commits(root: Path, since: str, until: str) -> tuple[BreakingCommit, ...]:
    """Commits in since..until whose messages declare a breaking change."""
    return tuple(
        BreakingCommit(sha, subject)
        for sha, subject, body in git.commit_messages(root, since, until, [])
        if is_breaking(subject, body)
    )


def card(repo: Path | str = ".", reference: str | None = None) -> ModelCard:
    """The model card of `MODEL`, `MODEL@vX.Y.Z` or `MODEL#stage` (latest by default)."""
    root = root_of(repo)
    model, version, stage = split_reference(reference) if reference else (None, None, None)
    state = model_state(root, model)
    event = pick(state, version, stage, deprecated_ok=True)
    metadata, problem, signed = read_metadata(root, event)
    document = metadata or {}
    settings = config.load(root)
    production = production_stage(settings.stages, settings.promotion_order)
    production_version = state.stages.get(production) if production else None
    previous = _previous(state, event, document)
    retired = is_deprecated(state, event)
    deregistration = deregistrations(state).get(str(event.version)) if retired else None
    reason = reasons(root, {"": deregistration})[""] if deregistration else ""
    compared = [e for e in (previous, state.version(production_version or "")) if e is not None]
    others = {e.version: read_metadata(root, e)[0] or {} for e in compared}
    previous_metadata = others.get(previous.version) if previous else None
    declaration = _declaration(root, event.commit, state.name)
    this_version = Version(event.version or "0.0.0")
    major = previous is not None and this_version.major > Version(previous.version or "").major
    return ModelCard(
        model=state.name,
        version=this_version,
        tag=event.tag,
        commit=event.commit,
        metadata=document,
        description=declaration.desc if declaration else "",
        kind=declaration.type if declaration else "model",
        labels=declaration.labels if declaration else (),
        meta=dict(declaration.meta) if declaration else {},
        metrics=metric_rows(
            document.get("metrics") or {},
            directions_of(declaration) if declaration else {},
            (previous_metadata or {}).get("metrics"),
            (others.get(production_version) or {}).get("metrics"),
        ),
        previous_version=Version(previous.version) if previous and previous.version else None,
        production_stage=production,
        production_version=production_version,
        stages=tuple(name for name, held in state.stages.items() if held == event.version),
        deprecated=state.deprecated or retired,
        version_deprecated=retired,
        deprecation_reason=reason,
        signed=signed,
        signature=problem or _signature(root, event, signed),
        lineage=pipeline_lineage(root, state.name, event.commit)
        or recorded_lineage(state.name, document),
        migration=tuple(migration_notes(previous_metadata or {}, document)) if major else (),
        breaking_commits=breaking_commits(root, previous.commit, event.commit)
        if major and previous
        else (),
    )


# A JSON card (`card --json -o`) is recognised by these keys, as no marker can precede JSON.
_JSON_CARD_KEYS = frozenset({"model", "version", "tag", "commit", "metadata", "migration"})
# A card is far smaller; a bigger file is not one, and is not read whole to find that out.
_LARGEST_JSON_CARD = 16 << 20


def write_card(
    card: ModelCard, out: Path | str, *, html: bool = False, json_text: str | None = None
) -> Path:
    """Write `card` as Markdown, HTML or (`json_text`, its JSON as the CLI renders it) JSON to
    `out`, refusing a symlink and any existing file that is not a card modelgit wrote."""
    from modelgit.pages.html import card_html
    from modelgit.pages.markdown import card_markdown

    path = Path(out)
    if not str(out).strip():
        raise OutputFileError("the card's output file is empty; name a file with -o")
    if path.is_symlink():
        raise OutputFileError(f"{path} is a symlink; modelgit never writes through one")
    if path.exists():
        if not path.is_file():
            raise OutputFileError(f"{path} is not a file modelgit can write a card into")
        if not _is_card(path):
            raise OutputFileError(
                f"{path} exists and is not a card modelgit wrote; choose another file with -o"
            )
    rendered = card_html if html else card_markdown
    text = json_text if json_text is not None else rendered(card)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputFileError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def _is_card(path: Path) -> bool:
    """True when `path` holds a card modelgit wrote: Markdown or HTML starting with the card
    marker, or a JSON object with a card's keys."""
    try:
        with path.open("rb") as existing:
            start = existing.read(len(CARD_MARKER.encode()))
            if start == CARD_MARKER.encode():
                return True
            if not start.lstrip().startswith(b"{"):
                return False
            rest = existing.read(_LARGEST_JSON_CARD)
    except OSError as exc:
        raise OutputFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        found = json.loads(start + rest)
    except ValueError:
        return False
    return isinstance(found, dict) and found.keys() >= _JSON_CARD_KEYS
