"""Health-gated promotion: promote (and push, so CI deploys), wait until the new version is
observably serving, watch its health for a window, roll back on failure or Ctrl-C."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modelgit.commands import policy, stages
from modelgit.commands.gc import policy_of
from modelgit.errors import ConfigError, InputError, ModelgitError
from modelgit.registry.lookup import model_state, root_of
from modelgit.registry.state import ModelState
from modelgit.registry.state import read as registry_read
from modelgit.registry.tags import Action, check_version
from modelgit.registry.versions import Version
from modelgit.sources import config, git
from modelgit.values import TextEnum, is_number

VERSION_HEADERS = ("x-model-version", "model-version")
VERSION_KEYS = ("version", "model_version")


class Engine(TextEnum):
    """What reports a rollout's health besides the checks: nothing, or Argo Rollouts."""

    PLAIN = "plain"
    ARGO = "argo"


class OnInterrupt(TextEnum):
    """What Ctrl-C during a rollout does to the promotion."""

    ROLLBACK = "rollback"
    KEEP = "keep"


@dataclass(frozen=True)
class Observation:
    """One check: healthy or not, what was seen, and the version that answered (if it said)."""

    healthy: bool
    seen: str
    version: str | None = None


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
        observed = self.observe()
        return observed.healthy, observed.seen

    def observe(self) -> Observation:
        """Run the check once; an HTTP answer may name the version that served it."""
        if self.url is not None:
            return _get(self.url, self.timeout)
        healthy, seen = _shell(self.command or "", self.timeout)
        return Observation(healthy, seen)


def _get(url: str, timeout: float) -> Observation:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read(65536)
            version = _version_in(dict(response.headers.items()), body)
            return Observation(200 <= response.status < 300, f"HTTP {response.status}", version)
    except urllib.error.HTTPError as exc:
        return Observation(False, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        return Observation(False, f"unreachable: {getattr(exc, 'reason', exc)}")


def _version_in(headers: dict[str, str], body: bytes) -> str | None:
    """The serving version from an `X-Model-Version` header or a JSON body's `version`."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in VERSION_HEADERS:
        if lowered.get(name):
            return lowered[name].strip().removeprefix("v")
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if isinstance(document, dict):
        for key in VERSION_KEYS:
            if document.get(key) is not None:
                return str(document[key]).strip().removeprefix("v")
    return None


def _shell(command: str | list[str], timeout: float) -> tuple[bool, str]:
    """(exit 0, `exit N: <last line it printed>`) for a shell command or an argument list."""
    ok, detail, _ = _command(command, timeout)
    return ok, detail


def _command(command: str | list[str], timeout: float) -> tuple[bool, str, str]:
    """(exit 0, what to report, its standard output)."""
    try:
        proc = subprocess.run(
            command,
            shell=isinstance(command, str),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:g} s", ""
    except OSError as exc:
        return False, f"cannot run: {exc}", ""
    said = (proc.stdout.strip() or proc.stderr.strip()).splitlines()
    detail = f"exit {proc.returncode}" + (f": {said[-1][:200]}" if said else "")
    return proc.returncode == 0, detail, proc.stdout


class RolloutStep(TextEnum):
    """What happened at one point of a rollout."""

    PROMOTED = "promoted"
    PUSHED = "pushed"
    WAITING = "waiting"
    READY = "ready"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    ROLLED_BACK = "rolled-back"
    ALERTED = "alerted"
    NOTIFIED = "notified"
    INTERRUPTED = "interrupted"
    COMPLETED = "completed"
    ARCHIVED = "archived"
    NOT_ARCHIVED = "not-archived"


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
    archived: str | None = None  # the archive-stage tag of the replaced version, if written


@dataclass(frozen=True)
class RolloutRequest:
    """What to roll out where, how to know it is serving, and how to watch it."""

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
    push: bool = False  # push the stage tag (and a rollback tag) so CI deploys
    remote: str = "origin"
    ready_cmd: str | None = None  # exits 0 once the new version serves
    expect_version: bool = False  # the health URL names the version that answers
    ready_timeout: float = 600  # seconds to wait for the new version to serve
    on_interrupt: OnInterrupt | str = OnInterrupt.ROLLBACK
    engine: Engine | str = Engine.PLAIN  # argo: `kubectl argo rollouts status` is a check too
    rollout_name: str | None = None  # argo: the Rollout (default: the model's Kubernetes name)
    namespace: str | None = None  # argo: default deploy.namespace
    notify: str | None = None  # a URL that gets a JSON event (Slack-compatible `text`)

    def __post_init__(self) -> None:
        argo = str(self.engine) == Engine.ARGO
        if str(self.engine) not in {e.value for e in Engine}:
            raise InputError(f"unknown --engine {self.engine!r}; use plain or argo")
        if str(self.on_interrupt) not in {o.value for o in OnInterrupt}:
            raise InputError(f"--on-interrupt {self.on_interrupt!r}: use rollback or keep")
        if not (argo and self.health_url is None and self.health_cmd is None):
            HealthCheck(url=self.health_url, command=self.health_cmd)  # refuses a bad check now
        if self.expect_version and self.health_url is None:
            raise InputError("--expect-version reads the version from --health-url; give one")
        numbers = (self.window, self.interval, self.max_failures, self.ready_timeout)
        if not all(is_number(n) for n in numbers):
            names = "--window, --interval, --max-failures and --ready-timeout"
            raise InputError(f"{names} must be numbers")
        if self.interval <= 0 or self.window <= 0 or self.max_failures < 1:
            raise InputError("--window and --interval must be positive, --max-failures at least 1")
        if self.ready_timeout <= 0:
            raise InputError("--ready-timeout must be positive")
        if self.notify is not None and not self.notify.startswith(("http://", "https://")):
            raise InputError(f"--notify {self.notify!r} must be an http(s) URL")


class _Run:
    """One rollout's clock, events and notifications."""

    def __init__(
        self, request: RolloutRequest, progress: Callable[[RolloutEvent], None] | None
    ) -> None:
        self.request = request
        self.progress = progress
        self.started = time.monotonic()
        self.events: list[RolloutEvent] = []

    def record(self, kind: RolloutStep, detail: str) -> None:
        event = RolloutEvent(round(time.monotonic() - self.started, 2), kind, detail)
        self.events.append(event)
        if self.progress is not None:
            self.progress(event)

    def notify(self, event: str, text: str, **fields: object) -> None:
        """POST `{"text", "event", ...}` to --notify; a failure to notify never stops a rollout."""
        if self.request.notify is None:
            return
        payload = {"text": text, "event": event, **fields}
        data = json.dumps(payload, default=str).encode()
        post = urllib.request.Request(
            self.request.notify, data, {"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(post, timeout=10) as response:
                self.record(RolloutStep.NOTIFIED, f"{event}: HTTP {response.status}")
        except urllib.error.HTTPError as exc:
            self.record(RolloutStep.NOTIFIED, f"{event}: HTTP {exc.code} (not delivered)")
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            self.record(RolloutStep.NOTIFIED, f"{event}: not delivered ({reason})")

    def push(self, root: Path, tag: str | None) -> None:
        if self.request.push and tag:
            git.push_tag(root, tag, self.request.remote)
            self.record(RolloutStep.PUSHED, f"{tag} to {self.request.remote}")


def rollout(
    repo: Path | str,
    request: RolloutRequest,
    progress: Callable[[RolloutEvent], None] | None = None,
) -> RolloutResult:
    """Promote the version to the stage (pushing the tag with `push`, so CI deploys it), wait
    until it is observably serving, then check health every `interval` seconds for `window`
    seconds; at `max_failures` failed checks (or Ctrl-C, unless `on_interrupt` is keep), give
    the stage back to the version it held, marking this one failed, run `on_failure` and
    report failure. Rolling out the version the stage already holds only checks its health.
    After a successful window, with `retention.archive_stage` set, the version the stage held
    before goes to the archive stage unless another stage still holds it."""
    root = root_of(repo)
    run = _Run(request, progress)
    version = check_version(request.version)
    stage = request.stage
    archive_stage = policy_of(root).archive_stage  # a broken retention setting fails now
    if archive_stage == stage:
        raise ConfigError(
            f"retention.archive_stage is {stage!r}, the stage rolled out to; name another stage"
        )
    state = model_state(root, request.model)
    if archive_stage:
        stages.check_archive_stage(root, archive_stage, registry_read(root).values())
    if state.stages.get(stage) == version:
        run.record(RolloutStep.READY, f"v{version} already holds {stage}; checking health only")
        healthy, seen = _watch(root, request, run, state.name)
        kind = RolloutStep.COMPLETED if healthy else RolloutStep.UNHEALTHY
        run.record(kind, f"v{version} in {stage}: {'healthy' if healthy else seen}; nothing moved")
        return RolloutResult(state.name, version, stage, healthy, None, None, tuple(run.events))
    policy.ensure_rollback_allowed(root, state.name, version, stage)  # before anything is tagged
    promoted = stages.promote(
        root, state.name, version, stage, f"Roll out v{version} to {stage}", force=request.force
    )
    try:
        run.record(RolloutStep.PROMOTED, promoted.tag or promoted.note)
        run.push(root, promoted.tag)
        run.notify("promoted", f"{state.name} v{version} promoted to {stage} ({promoted.tag})",
                   model=state.name, version=version, stage=stage, tag=promoted.tag)  # fmt: skip
        failure = _wait_ready(root, request, run, state.name)
        if failure is None:
            healthy, seen = _watch(root, request, run, state.name)
            failure = None if healthy else f"health check failed ({seen})"
    except KeyboardInterrupt:
        if str(request.on_interrupt) == OnInterrupt.KEEP:
            kept = f"v{version} stays in {stage} (--on-interrupt keep)"
            run.record(RolloutStep.INTERRUPTED, kept)
            raise
        run.record(RolloutStep.INTERRUPTED, "rolling back")
        _fail(root, request, run, promoted, "interrupted before the window ended")
        raise
    if failure is not None:
        return _fail(root, request, run, promoted, failure)
    done = f"v{version} stayed healthy in {stage} for {request.window:g} s"
    run.record(RolloutStep.COMPLETED, done)
    run.notify("succeeded", f"{state.name} v{version} is healthy in {stage}",
               model=state.name, version=version, stage=stage, tag=promoted.tag)  # fmt: skip
    archived = _archive_replaced(root, run, promoted, archive_stage) if archive_stage else None
    return RolloutResult(
        state.name, version, stage, True, promoted.tag, None, tuple(run.events), archived
    )


def _archive_replaced(
    root: Path, run: _Run, promoted: stages.StageChange, archive_stage: str
) -> str | None:
    """Assign the version the rollout replaced to the archive stage, as MLflow archives the
    versions a promotion replaces; not when another stage still holds it (it is in use) or it
    is in the archive stage already. A refusal (a stage policy) is reported, not raised: the
    rollout itself succeeded."""
    replaced = promoted.previous
    if replaced is None or replaced == promoted.version:
        return None
    state = model_state(root, promoted.model)
    holders = sorted(s for s, v in state.stages.items() if v == replaced and s != archive_stage)
    if holders:
        run.record(RolloutStep.NOT_ARCHIVED, f"v{replaced}: {', '.join(holders)} still holds it")
        return None
    before = _archived_before(state, replaced, archive_stage)
    if before is not None:
        run.record(RolloutStep.NOT_ARCHIVED, f"v{replaced} was archived before ({before})")
        return None
    why = f"replaced by v{promoted.version} in {promoted.stage} (rollout succeeded)"
    try:
        change = stages.archive(
            root, promoted.model, replaced, archive_stage, why, replaced_by=promoted.version
        )
    except ModelgitError as exc:
        run.record(RolloutStep.NOT_ARCHIVED, f"v{replaced}: {exc}")
        return None
    run.record(RolloutStep.ARCHIVED, f"v{replaced} to {archive_stage} ({change.tag})")
    run.push(root, change.tag)
    return change.tag


def _archived_before(state: ModelState, version: str, stage: str) -> str | None:
    """The tag that first assigned `version` to the archive `stage`, if any: a version is
    archived once, as `gc` plans it (an archive someone undid stays undone)."""
    moves = [
        e
        for e in state.events
        if e.stage == stage and e.version == version and e.action is Action.ASSIGN
    ]
    first = min(moves, key=lambda e: e.counter or 0, default=None)
    return first.tag if first is not None else None


def _kubectl(
    root: Path, request: RolloutRequest, model: str, verb: list[str], flags: list[str]
) -> list[str]:
    """`kubectl <verb> <rollout> -n <namespace> <flags>` for the model's Argo Rollout."""
    from modelgit.deploy.manifests import kubernetes_name

    namespace = request.namespace or str(config.load(root).deploy.get("namespace") or "default")
    name = request.rollout_name or kubernetes_name(model)
    return ["kubectl", *verb, name, "-n", namespace, *flags]


def _applied_version(root: Path, request: RolloutRequest, model: str) -> Observation:
    """The version of the pod template the cluster's Rollout holds (what CI applied)."""
    label = r"-o=jsonpath={.spec.template.metadata.labels.app\.kubernetes\.io/version}"
    command = _kubectl(root, request, model, ["get", "rollout"], [label])
    ok, seen, out = _command(command, 30)
    return Observation(ok, seen, out.strip() or None if ok else None)


def _wait_ready(root: Path, request: RolloutRequest, run: _Run, model: str) -> str | None:
    """Wait, at most `ready_timeout` seconds, until the new version is observably serving:
    `ready_cmd` exits 0, the health URL names the version, or (Argo) the cluster's Rollout
    holds its template. None when it is; else why not."""
    version = str(check_version(request.version))
    argo = str(request.engine) == Engine.ARGO
    if request.ready_cmd is None and not request.expect_version and not argo:
        return None
    deadline = time.monotonic() + request.ready_timeout
    limit = f"for v{version} to serve (at most {request.ready_timeout:g} s)"
    run.record(RolloutStep.WAITING, limit)
    seen = "nothing yet"
    while True:
        if request.ready_cmd is not None:
            ready, seen = _shell(request.ready_cmd, min(request.ready_timeout, 60))
        elif request.expect_version:
            observed = _get(request.health_url or "", 10)
            ready = observed.version == version
            seen = f"{observed.seen}, serving v{observed.version or '?'}"
        else:
            observed = _applied_version(root, request, model)
            ready = observed.version == version
            seen = f"Rollout template v{observed.version or '?'} ({observed.seen})"
        if ready:
            run.record(RolloutStep.READY, seen)
            return None
        if time.monotonic() >= deadline:
            return f"v{version} was not serving after {request.ready_timeout:g} s ({seen})"
        time.sleep(max(0.0, min(request.interval, deadline - time.monotonic())))


def _watch(root: Path, request: RolloutRequest, run: _Run, model: str) -> tuple[bool, str]:
    """Check every `interval` seconds for `window` seconds; (False, what was seen) at
    `max_failures` failed checks. Each check runs the health check and, with Argo, asks
    `kubectl argo rollouts status` (Degraded, as after a failed analysis, is a failure)."""
    checks: list[Callable[[], Observation]] = []
    if request.health_url is not None or request.health_cmd is not None:
        health = HealthCheck(url=request.health_url, command=request.health_cmd)
        checks.append(health.observe)
    if str(request.engine) == Engine.ARGO:
        verb = ["argo", "rollouts", "status"]
        command = _kubectl(root, request, model, verb, ["--watch=false"])
        checks.append(lambda: Observation(*_shell(command, 60)))
    expected = str(check_version(request.version))
    failures = 0
    window_started = time.monotonic()
    while True:
        for check in checks:
            observed = check()
            healthy = observed.healthy and (
                not request.expect_version or observed.version in (None, expected)
            )
            seen = observed.seen + (
                f", serving v{observed.version}" if request.expect_version and observed.version
                else ""
            )  # fmt: skip
            run.record(RolloutStep.HEALTHY if healthy else RolloutStep.UNHEALTHY, seen)
            failures += 0 if healthy else 1
            if failures >= request.max_failures:
                return False, seen
        remaining = request.window - (time.monotonic() - window_started)
        if remaining <= 0:
            return True, ""
        time.sleep(min(request.interval, remaining))


def _fail(
    root: Path,
    request: RolloutRequest,
    run: _Run,
    promoted: stages.StageChange,
    why: str,
) -> RolloutResult:
    stage = promoted.stage or request.stage
    version = promoted.version or Version(request.version)
    reason = f"{why} after rolling out v{version}"
    if promoted.previous and promoted.previous != version:
        change = stages.rollback(
            root, promoted.model, stage, to=promoted.previous, message=reason, force=True,
            failed=version,
        )  # fmt: skip
        run.record(RolloutStep.ROLLED_BACK, f"{stage} back to v{promoted.previous} ({change.tag})")
    else:
        change = stages.unassign(root, promoted.model, stage, message=reason, failed=version)
        emptied = f"{stage} held nothing before; unassigned ({change.tag})"
        run.record(RolloutStep.ROLLED_BACK, emptied)
    run.push(root, change.tag)
    run.notify("rolled-back", f"{promoted.model} v{version} rolled back in {stage}: {reason}",
               model=promoted.model, version=version, stage=stage, tag=change.tag,
               restored=promoted.previous, reason=reason)  # fmt: skip
    if request.on_failure:
        env = {
            **os.environ,
            "MODELGIT_MODEL": promoted.model,
            "MODELGIT_VERSION": str(version),
            "MODELGIT_STAGE": stage,
            "MODELGIT_ROLLED_BACK_TO": promoted.previous or "",
            "MODELGIT_REASON": reason,
        }
        proc = subprocess.run(request.on_failure, shell=True, env=env, check=False)
        run.record(RolloutStep.ALERTED, f"--on-failure exited {proc.returncode}")
    return RolloutResult(
        promoted.model, version, stage, False, promoted.tag, change.tag, tuple(run.events)
    )
