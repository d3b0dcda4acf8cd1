"""Write registry tags: the one place that creates a registry tag, with the race retry.

Every tag modelgit writes gets a tagger date strictly later than the model's latest event:
max(now, latest + 1 s). GTO decides the current stage by tag dates (one-second resolution),
modelgit by counters; with dates that never tie or go backwards, both orders agree.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from modelgit.errors import GitError, PushError, TagExistsError
from modelgit.registry import state as registry
from modelgit.sources import git

# Losers of a race re-read and renumber; modelgit's own writers queue on the lock, so only
# other tools writing at the same instant (GTO) can make more than one retry necessary.
_ATTEMPTS = 8


class NewTag(NamedTuple):
    """A tag to write: its name, the commit it points at, and its message."""

    name: str
    commit: str
    message: str


def tag_date(state: registry.ModelState, now: float | None = None) -> int:
    """The tagger date (epoch seconds) of the model's next tag: max(now, latest event + 1 s)."""
    current = int(time.time() if now is None else now)
    latest = max((_epoch(event.created_at) for event in state.events), default=None)
    return current if latest is None else max(current, latest + 1)


def _epoch(created_at: str) -> int:
    try:
        return int(datetime.fromisoformat(created_at).timestamp())
    except ValueError:
        return 0


def write_tag(
    repo: Path,
    model: str,
    make: Callable[[registry.ModelState], NewTag],
    *,
    sign: bool = False,
    retry: bool = True,
) -> NewTag:
    """Create the tag `make` plans from the model's registry state, and return it.

    modelgit's writers of one model take turns (a lock in the git directory), so counters and
    versions are planned from a registry no other modelgit process is changing. Git refuses to
    create a ref that exists, so two writers never share a tag either way: the loser of a race
    with another tool re-reads the registry and plans again (a new counter or version); a race
    for a name the caller fixed (`retry=False`) raises TagExistsError.
    """
    with git.writer_lock(repo, model):
        for attempt in range(1, _ATTEMPTS + 1):
            state = registry.read(repo, model)[model]
            planned = make(state)
            try:
                git.create_tag(
                    repo, planned.name, planned.commit, planned.message, sign, tag_date(state)
                )
            except TagExistsError:
                if attempt == _ATTEMPTS or not retry:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * attempt)
                continue
            return planned
    raise AssertionError("unreachable")  # pragma: no cover


def push_created(root: Path, tag: str, remote: str = "origin") -> str:
    """Push exactly `tag`, just created; a failure says that it exists here and how to publish
    it later. Returns the remote."""
    try:
        git.push_tag(root, tag, remote)
    except GitError as exc:
        raise PushError(
            f"created {tag} locally, but pushing it to {remote} failed: {exc.reason}; "
            f"publish it with `git push {remote} {tag}`"
        ) from exc
    return remote
