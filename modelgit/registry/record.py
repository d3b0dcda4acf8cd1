"""Write registry tags: the one place that creates a version or stage tag, with the race retry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from modelgit.errors import TagExistsError
from modelgit.registry import state as registry
from modelgit.sources import git


class NewTag(NamedTuple):
    """A tag to write: its name, the commit it points at, and its message."""

    name: str
    commit: str
    message: str


def write_tag(
    repo: Path,
    model: str,
    make: Callable[[registry.ModelState], NewTag],
    *,
    sign: bool = False,
    retry: bool = True,
) -> NewTag:
    """Create the tag `make` plans from the model's registry state, and return it.

    Git refuses to create a ref that exists, so two writers never share a tag. The loser of
    such a race re-reads the registry once and plans again (a new counter or version); a second
    loss, or a race for a name the caller fixed (`retry=False`), raises TagExistsError.
    """
    for attempt in (1, 2):
        planned = make(registry.read(repo, model)[model])
        try:
            git.create_tag(repo, planned.name, planned.commit, planned.message, sign=sign)
        except TagExistsError:
            if attempt == 2 or not retry:
                raise
            continue
        return planned
    raise AssertionError("unreachable")  # pragma: no cover
