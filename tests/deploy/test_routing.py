"""The weighted router: deterministic across processes, fair to its weights, salted."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest

from modelgit.deploy.routing import Router, bucket
from modelgit.errors import WeightsError

WEIGHTS = {"1.2.3": 0.8, "1.3.0": 0.2}


@pytest.mark.slow
def test_same_user_same_version_in_processes_with_different_hash_seeds():
    code = (
        "from modelgit.deploy.routing import Router\n"
        "r = Router({'1.2.3': 0.8, '1.3.0': 0.2}, salt='exp-1')\n"
        "print(','.join(r.route(f'user-{i}') for i in range(500)))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("0", "1", "12345")
    }
    assert len(outputs) == 1
    here = Router(WEIGHTS, salt="exp-1")
    assert outputs.pop().strip().split(",") == [here.route(f"user-{i}") for i in range(500)]


@pytest.mark.parametrize("weights", [WEIGHTS, {"a": 0.5, "b": 0.3, "c": 0.2}, {"only": 1.0}])
def test_shares_follow_weights_within_one_point(weights):
    router = Router(weights, salt="fair")
    counts = Counter(router.route(str(i)) for i in range(100_000))
    for name, weight in weights.items():
        assert abs(counts[name] / 100_000 - weight) < 0.01, (name, counts[name])


def test_changing_the_salt_reshuffles():
    first, second = Router(WEIGHTS, salt="exp-1"), Router(WEIGHTS, salt="exp-2")
    moved = sum(first.route(str(i)) != second.route(str(i)) for i in range(10_000))
    assert moved > 1_000  # independent draws at 80/20 disagree about 32% of the time
    assert bucket("u", "a") != bucket("u", "b") or bucket("v", "a") != bucket("v", "b")


def test_zero_weight_versions_get_nobody():
    router = Router({"old": 0.0, "new": 1.0})
    assert {router.route(str(i)) for i in range(1000)} == {"new"}


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({}, "at least one"),
        ({"a": 0.5, "b": 0.4}, "sum to 0.9"),
        ({"a": 1.5, "b": -0.5}, "must be in"),
        ({"a": float("nan")}, "must be in"),
        ({"a": 0.3333333, "b": 0.6666667}, None),  # within the tolerance
    ],
)
def test_weights_are_validated(weights, message):
    if message is None:
        Router(weights)
        return
    with pytest.raises(WeightsError, match=message):
        Router(weights)
