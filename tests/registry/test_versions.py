"""The Version value type, bumping, and semver-precedence ordering, checked against semver."""

from __future__ import annotations

import copy
import dataclasses
import doctest
import functools
import json
import operator
import pickle
import subprocess
import sys

import pytest
import semver
from hypothesis import given, settings
from hypothesis import strategies as st

from modelgit.errors import InvalidNameError
from modelgit.registry import versions
from modelgit.registry.versions import Part, Version, is_greater, next_version, version_key

ALNUM = "0123456789abzAZ-"
# Small numbers collide often, so equal cores and shared pre-release prefixes get exercised.
numbers = st.integers(0, 3) | st.integers(0, 10**12)
numeric_ids = (st.integers(0, 12) | st.integers(0, 10**12)).map(str)
alphanumeric_ids = st.tuples(
    st.text(ALNUM, max_size=2), st.sampled_from("abzAZ-"), st.text(ALNUM, max_size=2)
).map("".join)
prereleases = st.none() | st.lists(numeric_ids | alphanumeric_ids, min_size=1, max_size=4).map(
    ".".join
)
builds = st.none() | st.lists(st.text(ALNUM, min_size=1, max_size=3), min_size=1, max_size=2).map(
    ".".join
)
cores = st.tuples(numbers, numbers, numbers)


def spell(core: tuple[int, int, int], prerelease: str | None, build: str | None) -> str:
    text = ".".join(map(str, core))
    if prerelease is not None:
        text += f"-{prerelease}"
    if build is not None:
        text += f"+{build}"
    return text


version_texts = st.builds(spell, cores, prereleases, builds)
version_values = version_texts.map(Version)


@st.composite
def version_pairs(draw: st.DrawFn) -> tuple[Version, Version]:
    """Two versions, mostly sharing the core and a pre-release prefix, so identifiers decide."""
    core = draw(cores)
    other = core if draw(st.integers(0, 3)) else draw(cores)
    identifiers = numeric_ids | alphanumeric_ids
    common = draw(st.lists(identifiers, max_size=2))

    def prerelease() -> str | None:
        full = common + draw(st.lists(identifiers, max_size=2))
        return ".".join(full) if full and draw(st.integers(0, 7)) else None

    return (
        Version(spell(core, prerelease(), draw(builds))),
        Version(spell(other, prerelease(), draw(builds))),
    )


def semver_cmp(a: str, b: str) -> int:
    return semver.Version.parse(a).compare(b)


def sign(n: int) -> int:
    return (n > 0) - (n < 0)


def test_doctests_pass() -> None:
    result = doctest.testmod(versions)
    assert result.attempted > 0
    assert result.failed == 0


def test_importing_the_module_does_not_import_semver() -> None:
    code = "import sys, modelgit.registry.versions\nprint('semver' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- parsing --------------------------------------------------------------------------------


@given(version_texts)
@settings(max_examples=100, deadline=None)
def test_parse_accepts_every_semver_with_or_without_v(text: str) -> None:
    assert str(semver.Version.parse(text)) == text  # the generator only makes valid versions
    for spelled in (text, f"v{text}"):
        parsed = Version.parse(spelled)
        assert type(parsed) is Version
        assert parsed == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v",
        "1",
        "1.2",
        "1.2.3.4",
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "-1.2.3",
        "vv1.2.3",
        "V1.2.3",
        " 1.2.3",
        "1.2.3 ",
        "1.2.3\n",
        "1.2.3-",
        "1.2.3-01",
        "1.2.3-rc..1",
        "1.2.3-rc_1",
        "1.2.3+",
        "1.2.3+a..b",
        "1.2.3+a\nb",
        "latest",
    ],
)
def test_parse_refuses_anything_else_with_a_one_line_message(text: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        Version.parse(text)
    message = str(caught.value)
    assert "\n" not in message
    assert repr(text) in message


# --- the value ------------------------------------------------------------------------------


def test_version_is_the_plain_string_for_json_fstrings_equality_and_dict_keys() -> None:
    @dataclasses.dataclass(frozen=True)
    class Row:
        version: str

    v = Version("1.2.3")
    assert json.dumps(v) == '"1.2.3"'
    assert json.dumps(dataclasses.asdict(Row(v))) == '{"version": "1.2.3"}'
    assert f"{v}" == "1.2.3"
    assert f"{v:>7}" == "  1.2.3"
    assert str(v) == "1.2.3"
    assert type(str(v)) is str
    assert v == "1.2.3"
    assert hash(v) == hash("1.2.3")
    assert {"1.2.3": "ok"}[v] == "ok"
    assert {v: "ok"}["1.2.3"] == "ok"
    assert repr(v) == "Version('1.2.3')"


def test_version_is_immutable_and_survives_pickle_and_copy() -> None:
    v = Version("1.2.0-rc.1+b.7")
    with pytest.raises(AttributeError):
        v.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        v.major = 2  # type: ignore[misc]
    for clone in (pickle.loads(pickle.dumps(v)), copy.copy(v), copy.deepcopy(v)):
        assert type(clone) is Version
        assert clone == v


@given(version_texts)
@settings(max_examples=100, deadline=None)
def test_parts_match_semver(text: str) -> None:
    v, expected = Version(text), semver.Version.parse(text)
    assert (v.major, v.minor, v.patch) == (expected.major, expected.minor, expected.patch)
    assert v.prerelease == expected.prerelease
    assert v.build == expected.build


def test_parts_of_a_release() -> None:
    v = Version("10.20.30")
    assert (v.major, v.minor, v.patch, v.prerelease, v.build) == (10, 20, 30, None, None)


# --- ordering -------------------------------------------------------------------------------


def test_ordering_examples() -> None:
    assert Version("1.2.0-rc.1") < Version("1.2.0")
    assert Version("1.10.0") > Version("1.9.0")
    assert Version("1.0.0-alpha") < Version("1.0.0-alpha.1") < Version("1.0.0-alpha.beta")
    assert Version("1.0.0-beta.2") < Version("1.0.0-beta.11") < Version("1.0.0-rc.1")
    assert Version("1.0.0-1") < Version("1.0.0-a")
    # Build metadata is ignored for ordering, while equality stays the string's.
    a, b = Version("1.0.0+a"), Version("1.0.0+b")
    assert a != b
    assert a <= b
    assert b <= a
    assert not a < b
    assert not b < a


def test_plain_strings_compare_as_versions_from_either_side() -> None:
    assert Version("1.10.0") > "1.9.0"
    # The reflected operators: a plain string on the left still gets semver precedence.
    assert operator.lt("1.9.0", Version("1.10.0"))
    assert operator.ge("1.10.0", Version("1.9.0"))
    assert not operator.gt("1.9.0", Version("1.10.0"))
    assert Version("1.2.0-rc.1") <= "1.2.0"
    assert sorted(["1.10.0", Version("1.9.0"), "1.2.0"]) == ["1.2.0", "1.9.0", "1.10.0"]


def test_comparing_with_a_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        _ = Version("1.0.0") < 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        operator.gt(None, Version("1.0.0"))


@given(version_pairs())
@settings(max_examples=200, deadline=None)
def test_version_key_and_comparisons_agree_with_semver(pair: tuple[Version, Version]) -> None:
    a, b = pair
    expected = sign(semver_cmp(a, b))
    assert sign((version_key(a) > version_key(b)) - (version_key(a) < version_key(b))) == expected
    assert (a < b) == (expected < 0)
    assert (a <= b) == (expected <= 0)
    assert (a > b) == (expected > 0)
    assert (a >= b) == (expected >= 0)
    assert is_greater(a, b) == (expected > 0)


@given(st.lists(version_values, max_size=12))
@settings(max_examples=100, deadline=None)
def test_sorted_versions_equal_semver_order(values: list[Version]) -> None:
    by_semver = sorted(values, key=functools.cmp_to_key(semver_cmp))
    assert sorted(values) == by_semver
    assert [str(v) for v in sorted(values)] == [str(v) for v in by_semver]
    assert sorted(values, key=version_key) == by_semver


# --- bumping --------------------------------------------------------------------------------


@given(version_values)
@settings(max_examples=200, deadline=None)
def test_every_bump_is_greater_and_bumps_are_ordered(v: Version) -> None:
    patch, minor, major = (v.bump(part) for part in (Part.PATCH, Part.MINOR, Part.MAJOR))
    for bumped in (patch, minor, major):
        assert type(bumped) is Version
        assert bumped > v
        assert semver_cmp(bumped, v) > 0
        assert bumped.prerelease is None
        assert bumped.build is None
    assert patch <= minor <= major


@pytest.mark.parametrize(
    ("previous", "part", "expected"),
    [
        (None, Part.MAJOR, "1.0.0"),
        (None, Part.MINOR, "0.1.0"),
        (None, Part.PATCH, "0.1.0"),
        ("1.2.3", Part.PATCH, "1.2.4"),
        ("1.2.3", Part.MINOR, "1.3.0"),
        ("1.2.3", Part.MAJOR, "2.0.0"),
        ("1.2.3+build.9", Part.PATCH, "1.2.4"),
        ("1.2.0-rc.1", Part.PATCH, "1.2.0"),
        ("1.2.0-rc.1", Part.MINOR, "1.3.0"),
        ("1.2.0-rc.1", Part.MAJOR, "2.0.0"),
        ("0.9.9", Part.MAJOR, "1.0.0"),
    ],
)
def test_next_version_still_returns_plain_strings(
    previous: str | None, part: Part, expected: str
) -> None:
    result = next_version(previous, part)
    assert result == expected
    assert type(result) is str


def test_next_version_still_refuses_what_semver_cannot_parse() -> None:
    with pytest.raises(ValueError):
        next_version("not-a-version", Part.PATCH)


def test_first_versions() -> None:
    assert Version.first(Part.MAJOR) == "1.0.0"
    assert Version.first(Part.MINOR) == "0.1.0"
    assert Version.first(Part.PATCH) == "0.1.0"
    assert type(Version.first(Part.PATCH)) is Version


def test_is_greater_unchanged() -> None:
    assert is_greater("1.0.0", None)
    assert is_greater("1.10.0", "1.9.0")
    assert not is_greater("1.2.0-rc.1", "1.2.0")
    assert not is_greater("1.0.0", "1.0.0")
