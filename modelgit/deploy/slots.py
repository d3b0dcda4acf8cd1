"""Blue-green without Argo: two fixed slots, assigned from the registry's stage history so a
live version never moves out of its slot.

The first version a stage held is blue; each later version the stage takes goes into the slot
the version before it did not hold. A version rendered before it is promoted takes the slot the
live version does not hold, which is where it will stay once promoted.
"""

from __future__ import annotations

from collections.abc import Sequence

SLOTS = ("blue", "green")


def other(slot: str) -> str:
    """The slot that is not `slot`."""
    return SLOTS[1 - SLOTS.index(slot)]


def live_slots(assignments: Sequence[str | None]) -> tuple[str | None, dict[str, str]]:
    """Replay a stage's assignments (versions in counter order; None for an unassignment):
    the slot that serves now (None when the stage is empty) and each slot's latest version."""
    holders: dict[str, str] = {}
    live: str | None = None
    for version in assignments:
        if version is None:
            live = None
            continue
        if live is not None and holders.get(live) == version:
            continue
        placed = [slot for slot, held in holders.items() if held == version]
        if placed and placed[0] != live:
            live = placed[0]  # a rollback to the version still in the other slot
            continue
        live = _next_slot(live, holders)
        holders[live] = version
    return live, holders


def _next_slot(live: str | None, holders: dict[str, str]) -> str:
    """Where a new version goes: the slot the live one is not in; with nothing live, a free
    slot (blue first)."""
    if live is not None:
        return other(live)
    free = [slot for slot in SLOTS if slot not in holders]
    return free[0] if free else SLOTS[0]


def place(assignments: Sequence[str | None], version: str) -> tuple[dict[str, str], str, str]:
    """Where each version sits when `version` is rendered: {slot: version}, the active slot
    (what production traffic reaches) and the preview slot (where `version` runs)."""
    live, holders = live_slots(assignments)
    found = [slot for slot, held in holders.items() if held == version]
    if live is None:
        slot = found[0] if found else _next_slot(None, holders)
        return {**holders, slot: version}, slot, slot
    if holders[live] == version:
        return dict(holders), live, live
    preview = other(live)
    return {**holders, preview: version}, live, preview
