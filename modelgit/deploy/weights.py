"""A/B weights: parsed from `churn@v1.2.3=0.8,churn@v1.3.0=0.2`, turned into integer percentages
that sum to exactly 100 (largest remainder), so Istio's route weights and the router's buckets
describe the same split."""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction

from modelgit.errors import WeightsError
from modelgit.registry.tags import check_version, model_from_tag


def parse_weights(text: str | Mapping[str, float], model: str) -> dict[str, float]:
    """`churn@v1.2.3=0.8,churn@v1.3.0=0.2` (or `v1.2.3=0.8,...`, or such a mapping) as
    {version: weight}; a version named twice is refused."""
    from modelgit.deploy.routing import check_weights

    items: list[tuple[str, object]]
    if isinstance(text, Mapping):
        items = list(text.items())
    else:
        items = []
        for item in filter(None, (part.strip() for part in text.split(","))):
            named_arm, sep, text_weight = item.rpartition("=")
            if not sep:
                raise WeightsError(f"weight {item!r} needs the form VERSION=WEIGHT")
            items.append((named_arm, text_weight))
    weights: dict[str, float] = {}
    for reference, value in items:
        named, at, version = str(reference).rpartition("@")
        if at and model_from_tag(named) != model:
            raise WeightsError(f"weight {reference}={value} names {named}, not {model}")
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise WeightsError(f"weight {reference}={value}: {value!r} is not a number") from exc
        checked = check_version(version)
        if checked in weights:
            raise WeightsError(f"v{checked} is named twice in the weights; give each arm once")
        weights[checked] = number
    check_weights(weights)
    return weights


def percentages(weights: Mapping[str, float]) -> dict[str, int]:
    """Integer percentages summing to exactly 100, by largest remainder (ties to the earlier
    arm); an arm that would get 0% is refused, since it could never be served."""
    exact = {name: Fraction(weight).limit_denominator(10**9) * 100 for name, weight in
             weights.items()}  # fmt: skip
    total = sum(exact.values())
    if total == 0:
        raise WeightsError("weights sum to 0; give at least one arm a share")
    scaled = {name: value * 100 / total for name, value in exact.items()}
    floors = {name: math.floor(value) for name, value in scaled.items()}
    left = 100 - sum(floors.values())
    order = sorted(scaled, key=lambda name: scaled[name] - floors[name], reverse=True)
    for name in order[:left]:
        floors[name] += 1
    starved = [name for name, percent in floors.items() if percent == 0]
    if starved:
        raise WeightsError(
            f"v{starved[0]} would get 0% of traffic (weight {weights[starved[0]]:g}); "
            "give every arm at least 0.5% or leave it out"
        )
    return floors
