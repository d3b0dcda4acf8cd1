"""The tag grammar: GTO's spellings, round trips, and name validation."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelgit.errors import InvalidNameError
from modelgit.registry.state import events_from_tags
from modelgit.registry.tags import (
    TAG_PATTERN,
    Action,
    TagName,
    check_new_model_name,
    check_version,
    format_tag,
    parse_tag,
    split_reference,
)
from modelgit.sources.git import TagRef


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("churn@v1.3.0", TagName("churn", Action.REGISTER, version="1.3.0")),
        ("churn@v1.3.0!", TagName("churn", Action.DEREGISTER, version="1.3.0")),
        ("churn#production#7", TagName("churn", Action.ASSIGN, stage="production", counter=7)),
        ("churn#prod!#8", TagName("churn", Action.UNASSIGN, stage="prod", counter=8)),
        ("churn@deprecated", TagName("churn", Action.DEPRECATE)),
        (
            "nlp=intent@v1.0.0-rc.1+b5",
            TagName("nlp:intent", Action.REGISTER, version="1.0.0-rc.1+b5"),
        ),
        ("a/b=c@v0.0.1", TagName("a/b:c", Action.REGISTER, version="0.0.1")),
    ],
)
def test_parses_gto_spellings(tag, expected):
    assert parse_tag(tag) == expected
    assert format_tag(expected) == tag


@pytest.mark.parametrize(
    "tag",
    ["v1.0.0", "churn@1.0.0", "churn@v1.0", "churn@v01.0.0", "-x@v1.0.0", "churn#", "release-2024"],
)
def test_ignores_tags_outside_the_grammar(tag):
    assert parse_tag(tag) is None


names = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z")
versions = st.tuples(st.integers(0, 999), st.integers(0, 999), st.integers(0, 999)).map(
    lambda t: ".".join(map(str, t))
)


@given(
    model=st.one_of(names, st.tuples(names, names).map(lambda t: f"{t[0]}:{t[1]}")),
    version=versions,
    stage=names,
    counter=st.one_of(st.none(), st.integers(1, 10**6)),
    kind=st.sampled_from(list(Action)),
)
def test_parse_inverts_format(model, version, stage, counter, kind):
    fields = {"version": version} if kind in (Action.REGISTER, Action.DEREGISTER) else {}
    if kind in (Action.ASSIGN, Action.UNASSIGN):
        fields = {"stage": stage}
    name = TagName(model, kind, counter=counter, **fields)
    assert parse_tag(format_tag(name)) == name


def test_new_names_must_be_kubernetes_labels():
    check_new_model_name("churn-v2")
    check_new_model_name("nlp:intent")
    with pytest.raises(InvalidNameError, match=r"DNS-1123.*'churn-model'"):
        check_new_model_name("Churn_Model")
    with pytest.raises(InvalidNameError):
        check_new_model_name("a" * 64)
    with pytest.raises(InvalidNameError):
        check_new_model_name("bad name")


def test_versions_and_references():
    assert check_version("v1.2.3") == "1.2.3"
    with pytest.raises(InvalidNameError, match="semantic version"):
        check_version("1.2")
    assert split_reference("churn@v1.2.3") == ("churn", "1.2.3", None)
    assert split_reference("churn#production") == ("churn", None, "production")
    assert split_reference("churn") == ("churn", None, None)


# Text built from the grammar's own pieces, so that many draws are near misses.
pieces = st.sampled_from(
    ["churn", "nlp", "=", "@", "#", "v", "!", "1", "0", ".", "-", "+", "rc", "deprecated",
     "prod", "_", "/", "A", "01", "#7", "@v1.2.3", ":", " "]
)  # fmt: skip


@settings(max_examples=500)
@given(st.lists(pieces, max_size=8).map("".join))
def test_the_split_parse_agrees_with_the_whole_grammar(tag):
    # parse_tag splits a tag at its first `@`/`#` and caches each part; the single regex of
    # the whole grammar must decide every text the same way.
    match = re.fullmatch(TAG_PATTERN, tag)
    parsed = parse_tag(tag)
    assert (match is None) == (parsed is None), tag
    if parsed is not None:
        assert parsed.model == match["artifact"].replace("=", ":")
        assert (parsed.version, parsed.stage) == (match["version"], match["stage"])
        assert parsed.counter == (int(match["counter"]) if match["counter"] else None)
    # The registry's hot loop inlines the split parse: it must read every text the same way.
    events = events_from_tags([TagRef(tag, "object", "commit", "", "")])
    if parsed is None:
        assert events == {}, tag
    else:
        [event] = events[parsed.model]
        assert (event.model, event.action, event.version, event.stage, event.counter) == parsed
