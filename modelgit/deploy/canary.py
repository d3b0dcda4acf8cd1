"""What a canary needs besides the pods: timed steps, the traffic router, and the analysis
that lets Argo Rollouts abort to stable by itself."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelgit.errors import ManifestError
from modelgit.values import TextEnum, is_number

DEFAULT_STEPS = "10:5m,30:10m,60:10m"
_DURATION = re.compile(r"^[1-9][0-9]*[smh]$")


class TrafficRouter(TextEnum):
    """What shifts an Argo canary's traffic: an Istio VirtualService or an nginx Ingress."""

    ISTIO = "istio"
    NGINX = "nginx"


@dataclass(frozen=True)
class Step:
    """`setWeight: weight`, then `pause: {duration: pause}`."""

    weight: int
    pause: str


def parse_steps(text: str | tuple[int | Step, ...], default_pause: str = "5m") -> tuple[Step, ...]:
    """`10:5m,30:10m,60:10m` (a bare `10` pauses `default_pause`) as steps; weights must rise
    within 1..99, since 100 is what promotion means, and every pause is timed."""
    if isinstance(text, str):
        items: list[Any] = [part.strip() for part in text.split(",") if part.strip()]
    else:
        items = list(text)
    steps = []
    for item in items:
        if isinstance(item, Step):
            steps.append(item)
            continue
        weight, _, pause = str(item).partition(":")
        pause = pause or default_pause
        if not weight.isdigit() or not _DURATION.match(pause):
            raise ManifestError(
                f"canary step {item!r} must be PERCENT:DURATION, e.g. 10:5m (s, m or h)"
            )
        steps.append(Step(int(weight), pause))
    if not steps:
        raise ManifestError(f"give at least one canary step, e.g. {DEFAULT_STEPS}")
    weights = [s.weight for s in steps]
    if not all(0 < w < 100 for w in weights) or weights != sorted(set(weights)):
        raise ManifestError(
            f"canary weights {weights} must rise strictly between 1 and 99; promotion is 100"
        )
    return tuple(steps)


def starting_at(steps: tuple[Step, ...], weight: int) -> tuple[Step, ...]:
    """The steps with `weight` as the first one (`--weight 5` before `10:5m,30:10m,...`)."""
    first = Step(weight, steps[0].pause)
    return parse_steps((first, *(s for s in steps if s.weight > weight)))


@dataclass(frozen=True)
class Analysis:
    """The Prometheus checks a canary must pass; `.modelgit.yaml`'s `deploy.analysis`."""

    prometheus: str = "http://prometheus.istio-system.svc:9090"
    interval: str = "1m"
    failure_limit: int = 1
    max_error_rate: float = 0.01  # share of 5xx answers
    max_p95_latency_ms: float = 500.0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> Analysis:
        """Defaults overridden by `deploy.analysis`; unknown keys and bad values are refused."""
        settings = dict(settings or {})
        known = {
            "prometheus": str, "interval": str, "failure_limit": int,
            "max_error_rate": float, "max_p95_latency_ms": float,
        }  # fmt: skip
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise ManifestError(
                f"deploy.analysis has unknown keys {unknown}; known: {', '.join(known)}"
            )
        for key in ("failure_limit", "max_error_rate", "max_p95_latency_ms"):
            if key in settings and (not is_number(settings[key]) or settings[key] < 0):
                raise ManifestError(f"deploy.analysis.{key} must be a non-negative number")
        if "interval" in settings and not _DURATION.match(str(settings["interval"])):
            raise ManifestError("deploy.analysis.interval must be a duration such as 1m")
        if "prometheus" in settings and not str(settings["prometheus"]).startswith(
            ("http://", "https://")
        ):
            raise ManifestError("deploy.analysis.prometheus must be an http(s) URL")
        return cls(**{key: known[key](value) for key, value in settings.items()})
