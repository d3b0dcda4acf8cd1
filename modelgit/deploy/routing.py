"""A weighted, sticky router for serving code: the same user gets the same version everywhere.

    router = Router({"1.2.3": 0.8, "1.3.0": 0.2}, salt="exp-1")
    router.route("user-42")   # -> "1.2.3", in every process and on every machine

A user is hashed with SHA-256 (salt + id) into one of 10,000 fixed buckets; each version owns
a contiguous run of buckets in proportion to its weight. Python's `hash()` is randomised per
process and is never used. Changing the salt reshuffles every assignment.
"""

from __future__ import annotations

import hashlib
import json
import math
from bisect import bisect_right
from collections.abc import Mapping
from pathlib import Path

from modelgit.errors import WeightsError
from modelgit.values import is_number

BUCKETS = 10_000
TOLERANCE = 1e-6


def check_weights(weights: Mapping[str, float]) -> None:
    """Refuse weights that are empty, outside [0, 1], or do not sum to 1 (within 1e-6)."""
    if not weights:
        raise WeightsError("give at least one version with a weight")
    for name, weight in weights.items():
        if not is_number(weight) or math.isnan(weight) or not 0 <= weight <= 1:
            raise WeightsError(f"weight of {name} is {weight}; weights must be in [0, 1]")
    total = math.fsum(weights.values())
    if abs(total - 1) > TOLERANCE:
        raise WeightsError(f"weights sum to {total:g}, not 1 (tolerance {TOLERANCE:g})")


def bucket(user_id: str, salt: str = "") -> int:
    """The fixed bucket (0..9999) a user falls in for a salt."""
    digest = hashlib.sha256(f"{salt}\x00{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


class Router:
    """Deterministic weighted assignment of users to versions."""

    def __init__(
        self, weights: Mapping[str, float], salt: str = "", header: str = "x-model-version"
    ) -> None:
        check_weights(weights)
        self.weights = dict(weights)
        self.salt = salt
        self.header = header
        self._names: list[str] = []
        self._edges: list[int] = []
        cumulative = 0.0
        for name, weight in self.weights.items():
            if weight == 0:
                continue
            cumulative += weight
            self._names.append(name)
            self._edges.append(round(cumulative * BUCKETS))
        self._edges[-1] = BUCKETS  # rounding never leaves buckets unowned

    def route(self, user_id: str) -> str:
        """The version this user is served."""
        return self._names[bisect_right(self._edges, bucket(user_id, self.salt))]

    @classmethod
    def from_config(cls, source: Path | str | Mapping[str, str]) -> Router:
        """The router the `ab` strategy's ConfigMap describes: the directory it is mounted at
        (files `weights.json`, `salt`, `header`) or its `data` mapping."""
        if isinstance(source, Mapping):
            data = dict(source)
        else:
            folder = Path(source)
            try:
                data = {name: (folder / name).read_text() for name in ("weights.json", "salt",
                        "header")}  # fmt: skip
            except OSError as exc:
                message = f"router configuration in {folder} is unreadable: {exc}"
                raise WeightsError(message) from exc
        try:
            weights = json.loads(data["weights.json"])
            return cls(weights, salt=data["salt"], header=data["header"])
        except (KeyError, ValueError, TypeError) as exc:
            raise WeightsError(f"router configuration is incomplete or not JSON: {exc}") from exc
