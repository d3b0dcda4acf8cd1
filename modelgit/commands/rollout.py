"""Health-gated promotion: promote, watch a health check for a window, roll back on failure."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modelgit.commands import policy, stages
from modelgit.errors import InputError
from modelgit.registry.versions import Version
from modelgit.values import TextEnum, is_number


@dataclass(frozen=True)
class HealthCheck:
    """An HTTP URL that must answer 2xx, or a shell command that must exit 0."""

    url: str | None = None
    command: str | None = None
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if (self.url is None) == (self.command is None):
            raise InputError("give exactly one of --health-url and --health-cmd")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise InputError(f"--health-url {self.url!r} must be an http(s) URL")

    def run(self) -> tuple[bool, str]:
        """(healthy, what was seen)."""
        if self.url is not None:
            try:
                with urllib.request.urlopen(self.url, timeout=self.timeout) as response:
                    return 200 <= response.status < 300, f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                return False, f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                return False, f"unreachable: {getattr(exc, 'reason', exc)}"
        try:
            proc = subprocess.run(
                self.command or "",
                shell=True,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return False, f"timed out after {self.timeout:g} s"
        return proc.returncode == 0, f"exit {proc.returncode}"


class RolloutStep(TextEnum):
    """What happened at one point of a rollout."""

    PROMOTED = "promoted"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    ROLLED_BACK = "rolled-back"
    ALERTED = "alerted"
    COMPLETED = "completed"


@dataclass(frozen=True)
class RolloutEvent:
    """One thing that happened during a rollout, `at` seconds after it started."""

    at: float
    kind: RolloutStep
    detail: str


@dataclass(frozen=True)
class RolloutResult:
    """How a rollout ended."""

    model: str
    version: Version
    stage: str
    succeeded: bool
    promoted: str | None  # the promotion tag (None when the version already held the stage)
    rolled_back: str | None  # the rollback tag, when there was one
    events: tuple[RolloutEvent, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class RolloutRequest:
    """What to roll out where, and how to watch it."""

    model: str | None
    version: str
    health_url: str | None = None  # must answer 2xx
    health_cmd: str | None = None  # must exit 0
    stage: str = "production"
    window: float = 300  # seconds to watch
    interval: float = 30  # seconds between checks
    max_failures: int = 1  # failed checks that trigger the rollback
    on_failure: str | None = None  # a command run after a rollback (an alert)
    force: bool = False  # promote past the promotion order

    def __post_init__(self) -> None:
        HealthCheck(url=self.health_url, command=self.health_cmd)  # refuses a bad check now
        numbers = (self.window, self.interval, self.max_failures)
        if not all(is_number(n) for n in numbers):
            raise InputError("--window, --interval and --max-failures must be numbers")
        if self.interval <= 0 or self.window <= 0 or self.max_failures < 1:
            raise InputError("--window and --interval must be positive, --max-failures at least 1")


def rollout(
    repo: Path | str,
    request: RolloutRequest,
    progress: Callable[[RolloutEvent], None] | None = None,
) -> RolloutResult:
    """Promote the version to the stage, then check health every `interval` seconds for
    `window` seconds; at `max_failures` failed checks, roll back to the version the stage held
    before, run `on_failure` (with MODELGIT_* variables set), and report failure."""
    check = HealthCheck(url=request.health_url, command=request.health_cmd)
    model, version, stage = request.model, request.version, request.stage
    window, interval, max_failures = request.window, request.interval, request.max_failures
    on_failure, force = request.on_failure, request.force
    started = time.monotonic()
    events: list[RolloutEvent] = []

    def record(kind: RolloutStep, detail: str) -> None:
        event = RolloutEvent(round(time.monotonic() - started, 2), kind, detail)
        events.append(event)
        if progress is not None:
            progress(event)

    policy.ensure_rollback_allowed(repo, model, version, stage)  # before anything is tagged
    promoted = stages.promote(
        repo, model, version, stage, f"Roll out v{version} to {stage}", force=force
    )
    name = promoted.model
    record(RolloutStep.PROMOTED, promoted.tag or promoted.note)
    failures = 0
    while True:
        healthy, seen = check.run()
        record(RolloutStep.HEALTHY if healthy else RolloutStep.UNHEALTHY, seen)
        failures += 0 if healthy else 1
        if failures >= max_failures:
            return _fail(repo, promoted, seen, on_failure, record, events)
        remaining = window - (time.monotonic() - started)
        if remaining <= 0:
            break
        time.sleep(min(interval, remaining))
    record(RolloutStep.COMPLETED, f"v{promoted.version} stayed healthy in {stage} for {window:g} s")
    return RolloutResult(
        name, Version(promoted.version or version), stage, True, promoted.tag, None, tuple(events)
    )


def _fail(
    repo: Path | str,
    promoted: stages.StageChange,
    seen: str,
    on_failure: str | None,
    record: Callable[[RolloutStep, str], None],
    events: list[RolloutEvent],
) -> RolloutResult:
    stage = promoted.stage or "production"
    reason = f"health check failed ({seen}) after rolling out v{promoted.version}"
    rolled_back = None
    if promoted.previous and promoted.previous != promoted.version:
        change = stages.rollback(repo, promoted.model, stage, to=promoted.previous, message=reason)
        rolled_back = change.tag
        record(RolloutStep.ROLLED_BACK, f"{stage} back to v{promoted.previous} ({change.tag})")
    else:
        change = stages.unassign(repo, promoted.model, stage, message=reason)
        rolled_back = change.tag
        record(RolloutStep.ROLLED_BACK, f"{stage} held nothing before; unassigned ({change.tag})")
    if on_failure:
        env = {
            **os.environ,
            "MODELGIT_MODEL": promoted.model,
            "MODELGIT_VERSION": promoted.version or "",
            "MODELGIT_STAGE": stage,
            "MODELGIT_ROLLED_BACK_TO": promoted.previous or "",
            "MODELGIT_REASON": reason,
        }
        proc = subprocess.run(on_failure, shell=True, env=env, check=False)
        record(RolloutStep.ALERTED, f"--on-failure exited {proc.returncode}")
    return RolloutResult(
        promoted.model,
        Version(promoted.version or ""),
        stage,
        False,
        promoted.tag,
        rolled_back,
        tuple(events),
    )
