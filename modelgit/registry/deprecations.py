"""Why a version was deprecated: what its deregistration tag (`<name>@vX.Y.Z!`) says."""

from __future__ import annotations

import re
from pathlib import Path

from modelgit.registry.state import Event, ModelState
from modelgit.registry.tags import Action
from modelgit.sources import git

# The subjects modelgit and GTO write when the user gives no message: they say that, not why.
_DEFAULT_SUBJECT = re.compile(
    r"(?:Deprecate \S+ v\S+|Deregistering artifact \S+ version v?\S+)", re.IGNORECASE
)


def deregistrations(state: ModelState) -> dict[str, Event]:
    """Each deprecated version's latest deregistration tag, by version."""
    events = [e for e in state.events if e.action is Action.DEREGISTER and e.version is not None]
    events.sort(key=lambda e: (e.created_at, e.counter or 0))  # oldest first: a later tag wins
    return {str(event.version): event for event in events}


def reasons(root: Path, events: dict[str, Event]) -> dict[str, str]:
    """Per version: the reason its deregistration tag gives (its message's subject), or ``
    when the tag gives none (a default subject, or a lightweight or unreadable tag)."""
    if not events:
        return {}
    raws = git.cat_objects(root, [event.object_id for event in events.values()])
    return {
        version: reason(git.tag_message(raw)[0] if raw is not None else "")
        for version, raw in zip(events, raws, strict=True)
    }


def reason(message: str) -> str:
    """The reason a deregistration tag's message gives: its subject unless that is a default.

    >>> reason("retired by gc: outside the policy\\n\\nschema: 1\\n"), reason("Deprecate m v1.0.0")
    ('retired by gc: outside the policy', '')
    """
    subject = message.strip().split("\n", 1)[0].strip()
    return "" if _DEFAULT_SUBJECT.fullmatch(subject) else subject
