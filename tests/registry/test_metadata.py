"""The metadata document: round trip, and hostile YAML refused quickly and clearly."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelgit.errors import MetadataError
from modelgit.registry import metadata

scalars = st.one_of(
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
    st.booleans(),
    st.none(),
)


@given(
    params=st.dictionaries(
        st.from_regex(r"\A[a-z]{1,8}(\.[a-z]{1,8}){0,2}\Z"), scalars, max_size=6
    ),
    metrics=st.dictionaries(st.from_regex(r"\A[a-z_]{1,10}\Z"), scalars, max_size=6),
)
def test_dump_then_parse_round_trips(params, metrics):
    document = {
        "schema": 1,
        "model": "churn",
        "version": "1.2.3",
        "params": params,
        "metrics": metrics,
    }
    message = metadata.dump("churn v1.2.3: minor bump", document)
    assert message.startswith("churn v1.2.3: minor bump\n\n")
    assert metadata.parse(message) == document


def test_fields_are_written_in_design_order():
    message = metadata.dump("s", {"metrics": {}, "version": "1.0.0", "model": "m", "schema": 1})
    assert [line.split(":")[0] for line in message.splitlines()[2:]] == [
        "schema",
        "model",
        "version",
        "metrics",
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "no metadata"),
        ("just text, no yaml mapping", "not a YAML mapping"),
        ("schema: 1\nmodel: [unclosed", "does not parse"),
        ("schema: 1\nversion: 1.0.0", "lacks model"),
        ("schema: 9\nmodel: m\nversion: 1.0.0", "schema 9"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
            "aliases",
        ),
        ("x: " + "[" * 5000 + "]" * 5000, "does not parse"),
        ("schema: 1\nmodel: m\nversion: 1.0.0\nx: " + "[" * 40 + "]" * 40, "deeper"),
    ],
)
def test_hostile_or_foreign_messages_are_refused(body, reason):
    with pytest.raises(MetadataError, match=reason):
        metadata.parse(f"subject\n\n{body}")


def test_huge_messages_are_refused_without_parsing():
    started = time.perf_counter()
    with pytest.raises(MetadataError, match="larger than"):
        metadata.parse("s\n\n" + "k: v\n" * 1_000_000)
    assert time.perf_counter() - started < 1


def test_fingerprint_depends_on_artifact_params_and_data():
    base = metadata.fingerprint("a" * 32, {"train.C": 1.0}, [{"path": "d", "md5": "1"}])
    assert len(base) == 12
    assert base != metadata.fingerprint("b" * 32, {"train.C": 1.0}, [{"path": "d", "md5": "1"}])
    assert base != metadata.fingerprint("a" * 32, {"train.C": 0.5}, [{"path": "d", "md5": "1"}])
    assert base != metadata.fingerprint("a" * 32, {"train.C": 1.0}, [{"path": "d", "md5": "2"}])


def _document(params: dict) -> dict:
    return {"schema": 1, "model": "m", "version": "1.0.0", "params": params}


def test_the_writer_refuses_what_the_reader_would_refuse_naming_the_largest_field():
    huge = {f"stage{i}.rate": 0.5 for i in range(20_000)}
    with pytest.raises(MetadataError) as caught:
        metadata.dump("m v1.0.0: minor bump", _document(huge))
    message = str(caught.value)
    assert "\n" not in message
    assert "over the 256 KiB a version tag may carry (`params` alone is" in message
    assert "nothing was tagged" in message


def test_a_message_just_under_the_shared_limit_is_written_and_read_back():
    def message_of(count: int) -> str:
        return metadata.dump("m v1.0.0", _document({f"k{i:05d}": "x" * 200 for i in range(count)}))

    entry = len(message_of(2).encode()) - len(message_of(1).encode())
    count = (metadata.MAX_MESSAGE_BYTES - len(message_of(0).encode())) // entry
    message = message_of(count)
    assert metadata.MAX_MESSAGE_BYTES - entry < len(message.encode()) <= metadata.MAX_MESSAGE_BYTES
    assert len(metadata.parse(message)["params"]) == count
    with pytest.raises(MetadataError):
        message_of(count + 1)
