"""A/B weights: integer percentages by largest remainder, summing to exactly 100."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelgit.deploy.routing import Router
from modelgit.deploy.weights import parse_weights, percentages
from modelgit.errors import WeightsError


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, {"a": 34, "b": 33, "c": 33}),
        ({"a": 0.333, "b": 0.333, "c": 0.334}, {"a": 33, "b": 33, "c": 34}),
        ({"a": 0.125, "b": 0.875}, {"a": 13, "b": 87}),  # a tie goes to the earlier arm
        ({"a": 0.8, "b": 0.2}, {"a": 80, "b": 20}),
    ],
)
def test_largest_remainder(weights, expected):
    assert percentages(weights) == expected


def test_an_arm_that_would_get_nothing_is_refused():
    with pytest.raises(WeightsError, match="vb would get 0% of traffic"):
        percentages({"a": 0.995, "b": 0.005})


@given(st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=20))
def test_shares_sum_to_100_and_stay_within_one_point(raw):
    total = sum(raw)
    weights = {f"{i}.0.0": value / total for i, value in enumerate(raw)}
    try:
        shares = percentages(weights)
    except WeightsError:
        assert any(w * 100 < 1 for w in weights.values())
        return
    assert sum(shares.values()) == 100
    assert all(abs(shares[k] - weights[k] * 100) < 1 for k in weights)


def test_duplicates_and_other_models_are_refused():
    with pytest.raises(WeightsError, match=r"v0\.1\.0 is named twice"):
        parse_weights("churn@v0.1.0=0.5,v0.1.0=0.5", "churn")
    with pytest.raises(WeightsError, match="names other, not churn"):
        parse_weights({"other@v0.1.0": 1.0}, "churn")
    assert parse_weights("churn@v0.1.0=0.25, v0.2.0=0.75", "churn") == {
        "0.1.0": 0.25,
        "0.2.0": 0.75,
    }


def test_the_router_reads_its_configmap_directory(tmp_path):
    (tmp_path / "weights.json").write_text('{"0.1.0": 0.34, "0.2.0": 0.66}')
    (tmp_path / "salt").write_text("exp-1")
    (tmp_path / "header").write_text("x-arm")
    router = Router.from_config(tmp_path)
    assert (router.salt, router.header) == ("exp-1", "x-arm")
    assert router.route("user-1") == Router({"0.1.0": 0.34, "0.2.0": 0.66}, "exp-1").route("user-1")
    (tmp_path / "salt").unlink()
    with pytest.raises(WeightsError, match="unreadable"):
        Router.from_config(tmp_path)
