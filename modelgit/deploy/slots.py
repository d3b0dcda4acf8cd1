"""Blue-green without Argo: two fixed slots, assigned from the registry's stage history so a
live version never moves out of its slot.

The first version a stage held is blue; each later version the stage takes goes into the slot
the version before it did not hold (a version still in a slot goes back to it). A version
rendered before it is promoted takes the slot the live version does not hold, which is where it
will stay once promoted. Unassignments are not replayed: the live slot is the one holding the
version the registry says the stage holds now.
"""

from __future__ import annotations

from collections.abc import Sequence

SLOTS = ("blue", "green")


def other(slot: str) -> str:
    """The slot that is not `slot`."""
    return SLOTS[1 - SLOTS.index(slot)]


def live_slots(assignments: Sequence[str]) -> tuple[str | None, dict[str, str]]:
    """Replay a stage's assignments (versions in counter order): the slot of the last one and
    each slot's latest version."""
    holders: dict[str, str] = {}
    live: str | None = None
    for version in assignments:
        if live is not None and holders.get(live) == version:
            continue
        placed = [slot for slot, held in holders.items() if held == version]
        if placed:
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


def place(
    assignments: Sequence[str], holding: str | None, version: str
) -> tuple[dict[str, str], str, str]:
    """Where each version sits when `version` is rendered while the stage holds `holding`
    (None when it holds nothing): {slot: version}, the active slot (what production traffic
    reaches) and the preview slot (where `version` runs)."""
    _, holders = live_slots(assignments)
    live = next((slot for slot, held in holders.items() if held == holding), None)
    if live is None:
        found = [slot for slot, held in holders.items() if held == version]
        slot = found[0] if found else _next_slot(None, holders)
        return {**holders, slot: version}, slot, slot
    if holders[live] == version:
        return dict(holders), live, live
    preview = other(live)
    return {**holders, preview: version}, live, preview
