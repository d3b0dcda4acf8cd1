"""The fast block-YAML reader returns exactly what PyYAML's safe loader returns, or declines."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelgit.errors import MetadataError
from modelgit.registry import block_yaml, metadata
from modelgit.registry.metadata import dump_yaml


def typed(value: Any) -> Any:
    """A value with every scalar's type spelled out (1, 1.0 and True compare equal in Python)."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, repr(value))


def pyyaml(text: str) -> Any:
    return yaml.load(text, Loader=yaml.SafeLoader)


def agrees(text: str) -> bool:
    """The reader declined, or it read what PyYAML reads (and PyYAML reads it)."""
    fast = block_yaml.load(text)
    if fast is None:
        return True
    return typed(fast) == typed(pyyaml(text))


METADATA = {
    "schema": 1,
    "model": "churn",
    "version": "1.3.0",
    "previous": "1.2.0",
    "bump": {"level": "minor", "reasons": ["params changed: train.C 1.0 -> 0.5", "it's data"]},
    "created_at": "2026-11-26T14:00:00Z",
    "created_by": "Jane Doe <jane@example.com>",
    "commit": "0123456789abcdef0123456789abcdef01234567",
    "artifact": {"path": "models/churn.pkl", "hash": "md5", "md5": "0" * 32, "size": 123456},
    "fingerprint": "012345678912",
    "data": [{"path": "data/raw.csv", "md5": "1" * 32, "size": 10}, {"path": "data/b.csv"}],
    "stages": ["prepare", "train"],
    "params": {"train.C": 0.5, "train.max_iter": 200, "train.flag": True, "train.none": None},
    "metrics": {"accuracy": 0.945, "f1": 0.923, "log loss": -1.5e-05, "1": 1},
    "features": ["tenure", "monthly_charges", "yes", "null", "0x1f", "1_000"],
    "schema_signature": {"inputs": [{"name": "tenure", "type": "int"}], "outputs": []},
    "parents": [],
    "environment": {"python": "3.11.7", "packages": {"scikit-learn": "1.9.1"}},
    "training": {"duration_s": 812, "resources": {}},
    "nested": [[1, 2], ["a", [True]]],
}


def test_reads_what_bump_writes_without_pyyaml() -> None:
    text = dump_yaml(METADATA)
    fast = block_yaml.load(text)
    assert fast is not None, "the fast path must take the documents modelgit writes"
    assert typed(fast) == typed(pyyaml(text))


@pytest.mark.parametrize(
    "text",
    [
        "a: 1 # a comment\n",
        "a: [1, 2]\n",
        "a: {b: 1}\n",
        "a: |\n  text\n",
        "a: >\n  folded\n",
        "a: 'multi\n  line'\n",
        'a: "escaped \\n"\n',
        "a: plain\n  continued\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "---\na: 1\n",
        "a: 1\n\nb: 2\n",
        "a:\tb\n",
        "a: 1\na: 2\n",
        "- 1\n- 2\n",
        "a:\n-\n  b: 1\n",
        "<<: {a: 1}\n",
        "a: b: c\n",
        "a: 1\r\nb: 2\n",
        "a: x\u2028y\n",
        "  a: 1\n",
        "a:\n  - 1\n  b: 2\n",
    ],
)
def test_declines_what_it_does_not_take(text: str) -> None:
    assert block_yaml.load(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "a: 2026-11-26T14:00:00Z\n",
        "a: 2026-11-26\n",
        "a: 0o17\nb: 0x1F\nc: 1_000\nd: .inf\ne: -.NaN\nf: 1e3\ng: 1.0e+3\n",
        "a: yes\nb: No\nc: ON\nd: ~\ne: null\nf: 'true'\n",
        "'a b': 1\n'it''s': 'x'\n1: one\n2.5: two\ntrue: t\n",
        "a:\n- x\n- - 1\n  - 2\n- k: v\n  l:\n  - 3\nb: c\n",
        "a:\n  - 1\n  - 2\nb:\n    c: 1\n",
        "a:\nb: 1\n",
        "a: \"quoted # not a comment\"\nb: 'x: y'\n",
        "a: -1\nb: --x\nc: a,b\nd: x]y\n",
        "a: 2026-13-45\n",
        "a: 0\nb: -0\nc: +1\nd: 007\ne: 1.\nf: -0.0\ng: 1.0E+10\nh: 1.5e3\ni: 00.5\nj: 1_0\n",
    ],
)
def test_agrees_with_pyyaml_on_edge_cases(text: str) -> None:
    try:
        expected = pyyaml(text)
    except ValueError:
        assert block_yaml.load(text) is None
        return
    fast = block_yaml.load(text)
    assert fast is None or typed(fast) == typed(expected)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["yes", "No", "null", "~", "1.0", "0x10", "2026-01-01", "-", "a: b", "#x"]),
)
keys = st.one_of(
    st.text(min_size=1, max_size=12), st.integers(), st.sampled_from(["on", "1.5", "a b"])
)
documents = st.dictionaries(
    keys,
    st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)
        ),
        max_leaves=12,
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_round_trips_what_the_dumper_writes(document: dict[Any, Any]) -> None:
    text = dump_yaml(document)
    assert agrees(text)


tricky_words = st.sampled_from(
    [
        "a", "b c", "'q'", "''", "'a''b'", '"d"', '"e\\n"', "1", "-1", ".5", "1e3", "0x1F",
        "yes", "Off", "~", "null", "[]", "{}", "[1]", "2026-01-01", "2026-01-01T00:00:00Z",
        "a: b", "a #b", "a#b", "-", "- x", "&a", "*a", "!x", "|", ">", ":", "?", "%", "@", "x:",
        "a,b", "\\", "é", "<<", "=", "",
    ]
)  # fmt: skip
keys_text = st.one_of(
    st.sampled_from(["k 1", "'q'", "1", "on", "x.y", "-k", "a:b", "?", "'a''b'"]),
    st.from_regex(r"[a-z][a-z0-9_.]{0,6}", fullmatch=True),
)


@st.composite
def yaml_block(draw: st.DrawFn, indent: int = 0, depth: int = 0) -> list[str]:
    """Lines of a block mapping or sequence, `indent` spaces in, with raw tricky scalars."""
    pad = " " * indent
    sequence = depth > 0 and draw(st.booleans())
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        head = pad + ("- " if sequence else f"{draw(keys_text)}:")
        if depth < 3 and draw(st.integers(0, 3)) == 0:
            inner = indent + draw(st.sampled_from([0, 2] if not sequence else [2]))
            nested = draw(yaml_block(inner, depth + 1))
            if sequence:
                lines += [head + nested[0][inner:], *nested[1:]]
            else:
                lines += [head, *nested]
        else:
            lines.append(head + ("" if sequence else " ") + draw(tricky_words))
    return lines


@st.composite
def yaml_lines(draw: st.DrawFn) -> str:
    """Block YAML text: mostly well formed, with raw scalars and now and then a stray indent."""
    lines = draw(yaml_block())
    if draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] = " " * draw(st.integers(1, 3)) + lines[at]
    return "\n".join(lines) + "\n"


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_lines())
def test_never_reads_text_differently_from_pyyaml(text: str) -> None:
    fast = block_yaml.load(text)
    if fast is None:
        return
    try:
        expected = pyyaml(text)
    except yaml.YAMLError:
        pytest.fail(f"read {text!r}, which PyYAML refuses")
    assert typed(fast) == typed(expected)


def test_timestamps_are_pyyaml_datetimes() -> None:
    found = block_yaml.load("at: 2026-11-26T14:00:00Z\n")
    assert found == {"at": datetime.datetime(2026, 11, 26, 14, 0, tzinfo=datetime.timezone.utc)}


def test_declines_documents_nested_deeper_than_metadata_allows() -> None:
    assert block_yaml.MAX_NESTING + 1 < metadata.MAX_DEPTH  # parse skips its depth check
    deep = "".join(f"{'  ' * level}k:\n" for level in range(40)) + "  " * 40 + "k: 1\n"
    assert pyyaml(deep) is not None
    assert block_yaml.load(deep) is None
    with pytest.raises(MetadataError, match="deeper"):
        metadata.parse("subject\n\nschema: 1\nmodel: m\nversion: 1.0.0\n" + deep)
