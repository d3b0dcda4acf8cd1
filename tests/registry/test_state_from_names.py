"""What the tag names alone tell (`site` plans its pages before any tag object is read) agrees
with the state built from the tags' objects."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from modelgit.registry.state import active_versions, build_state, events_from_tags, tags_by_model
from modelgit.sources.git import TagRef

VERSIONS = ("0.1.0", "0.2.0", "1.0.0", "0.10.0")
names = st.one_of(
    st.builds(lambda m, v: f"{m}@v{v}", st.sampled_from("ab"), st.sampled_from(VERSIONS)),
    st.builds(lambda m, v: f"{m}@v{v}!", st.sampled_from("ab"), st.sampled_from(VERSIONS)),
    st.builds(
        lambda m, s, n: f"{m}#{s}#{n}", st.sampled_from("ab"), st.sampled_from(("prod", "dev")),
        st.integers(1, 9),
    ),
    st.builds(lambda m: f"{m}@deprecated", st.sampled_from("ab")),
    st.sampled_from(("not-a-model-tag", "v1.0.0", "a@", "@v1.0.0")),
)  # fmt: skip


@given(st.lists(names, unique=True, max_size=20))
def test_the_names_give_the_versions_and_models_the_objects_give(tags):
    listed = [(name, f"{index:040x}") for index, name in enumerate(tags)]
    refs = [
        TagRef(name, oid, "c" * 40, "2026-01-01T00:00:00+00:00", "x <x@y>") for name, oid in listed
    ]
    events = events_from_tags(refs)
    by_model = tags_by_model(listed)
    assert set(by_model) == set(events)
    for model, model_tags in by_model.items():
        assert [tag for tag, _ in model_tags] == [event.tag for event in events[model]]
        state = build_state(model, events[model])
        assert active_versions(name for name, _ in model_tags) == [
            e.version for e in state.versions
        ]
