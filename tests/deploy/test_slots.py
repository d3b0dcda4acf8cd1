"""Plain blue-green slots from a stage's history: a live version never changes slot."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from modelgit.deploy.slots import live_slots, place


def test_the_first_version_is_blue_and_each_next_takes_the_other_slot():
    assert live_slots([]) == (None, {})
    assert live_slots(["1"]) == ("blue", {"blue": "1"})
    assert live_slots(["1", "2"]) == ("green", {"blue": "1", "green": "2"})
    assert live_slots(["1", "2", "3"]) == ("blue", {"blue": "3", "green": "2"})


def test_a_rollback_to_the_version_still_in_the_other_slot_switches_back():
    assert live_slots(["1", "2", "1"]) == ("blue", {"blue": "1", "green": "2"})


def test_rendering_a_new_version_previews_it_in_the_slot_live_does_not_hold():
    held, active, preview = place(["1", "2"], "2", "3")
    assert (held, active, preview) == ({"blue": "3", "green": "2"}, "green", "blue")
    assert place(["1", "2"], "2", "2") == ({"blue": "1", "green": "2"}, "green", "green")
    assert place([], None, "1") == ({"blue": "1"}, "blue", "blue")
    # The registry says the stage holds v1 again (v2 was unassigned): v1's slot is live.
    assert place(["1", "2"], "1", "3") == ({"blue": "1", "green": "3"}, "blue", "green")


@given(st.lists(st.sampled_from(["1", "2", "3", "4"]), max_size=12), st.sampled_from("5678"))
def test_rendering_never_moves_the_live_version_and_promotion_keeps_its_preview_slot(history, new):
    live, holders = live_slots(history)
    holding = holders[live] if live else None
    held, active, preview = place(history, holding, new)
    if live is not None:
        assert active == live and held[live] == holders[live]
    promoted_live, promoted = live_slots([*history, new])
    assert promoted_live == preview and promoted[preview] == new
