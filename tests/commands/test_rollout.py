"""Health-gated rollout against a real local HTTP server (and a health command)."""

from __future__ import annotations

import http.server
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import git, tag_message
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import InputError, PromotionError

runner = CliRunner()


class Health:
    """A /healthz endpoint that turns failing after `healthy_for` requests."""

    def __init__(self, healthy_for: int) -> None:
        self.healthy_for = healthy_for
        self.requests = 0


@pytest.fixture
def server() -> Iterator[tuple[str, Health]]:
    state = Health(healthy_for=10**9)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests += 1
            ok = state.requests <= state.healthy_for
            self.send_response(200 if ok else 503)
            self.end_headers()
            self.wfile.write(b"ok" if ok else b"unhealthy")

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval: shutdown() waits for the loop to notice, 0.5 s by default.
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/healthz", state
    finally:
        httpd.shutdown()
        httpd.server_close()


def production(repo):
    return modelgit.list_models(repo)[0].stages.get("production")


def test_a_healthy_rollout_completes_the_promotion(registry, server):
    url, health = server
    modelgit.promote(registry, "churn", "0.1.0", "production")
    events = []
    request = modelgit.RolloutRequest("churn", "0.2.0", health_url=url, window=1.0, interval=0.2)
    result = modelgit.rollout(registry, request, progress=events.append)
    assert result.succeeded and result.rolled_back is None
    assert production(registry) == "0.2.0"
    assert list(result.events) == events
    assert events[0].kind == "promoted" and events[-1].kind == "completed"
    assert health.requests >= 4 and all(
        e.detail == "HTTP 200" for e in events if e.kind == "healthy"
    )


def test_failing_mid_window_rolls_back_and_alerts(registry, server, tmp_path):
    url, health = server
    health.healthy_for = 3
    modelgit.promote(registry, "churn", "0.1.0", "production")
    before = set(git(registry, "tag", "--list").split())
    alert = tmp_path / "alert.txt"
    started = time.monotonic()
    alert_command = f"echo $MODELGIT_VERSION $MODELGIT_ROLLED_BACK_TO > {alert}"
    result = runner.invoke(app, [
        "rollout", "churn", "0.2.0", "--health-url", url, "--window", "5", "--interval", "0.1",
        "--max-failures", "2", "--on-failure", alert_command, "-C", str(registry),
    ])  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    kinds = [line.split("] ", 1)[1].split(":")[0] for line in lines]
    assert kinds == ["promoted", "healthy", "healthy", "healthy", "unhealthy", "unhealthy",
                     "rolled-back", "alerted"]  # fmt: skip
    assert "production back to v0.1.0 (churn#production#3)" in result.stdout
    assert result.stderr.startswith("error: rollout of churn v0.2.0 to production failed")
    assert elapsed < 4  # stopped at the failures, not at the end of the window
    after = set(git(registry, "tag", "--list").split())
    assert after - before == {"churn#production#2", "churn#production#3"} and before < after
    assert production(registry) == "0.1.0"
    assert alert.read_text() == "0.2.0 0.1.0\n"


def test_with_nothing_to_go_back_to_the_stage_is_unassigned(registry):
    request = modelgit.RolloutRequest("churn", "0.2.0", health_cmd="exit 3", window=1, interval=0.1)
    result = modelgit.rollout(registry, request)
    assert not result.succeeded and result.rolled_back == "churn#production!#2"
    assert production(registry) is None
    assert [e.detail for e in result.events if e.kind == "unhealthy"] == ["exit 3"]


def test_health_check_input_is_checked(registry):
    with pytest.raises(InputError, match="exactly one"):
        modelgit.rollout(registry, modelgit.RolloutRequest("churn", "0.2.0"))
    with pytest.raises(InputError, match="http"):
        modelgit.rollout(registry, modelgit.RolloutRequest("churn", "0.2.0", health_url="ftp://x"))
    assert "churn#production#1" not in git(registry, "tag", "--list")  # refused before promoting
    unreachable = modelgit.RolloutRequest(
        "churn", "0.2.0", health_url="http://127.0.0.1:9/healthz", window=1, interval=0.1
    )  # nothing listens on the discard port
    result = modelgit.rollout(registry, unreachable)
    [seen] = [e.detail for e in result.events if e.kind == "unhealthy"]
    assert not result.succeeded and seen.startswith("unreachable")


class Recorder:
    """A local JSON endpoint (a stand-in for Slack's incoming webhook): keeps what it got."""

    def __init__(self) -> None:
        self.posts: list[dict] = []


@pytest.fixture
def webhook() -> Iterator[tuple[str, Recorder]]:
    got = Recorder()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            assert self.headers["Content-Type"] == "application/json"
            got.posts.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", got
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def serving() -> Iterator[tuple[str, dict]]:
    """A /healthz that answers JSON naming the version it serves; the test switches it."""
    state = {"version": "0.1.0", "status": 200, "requests": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state["requests"] += 1
            self.send_response(state["status"])
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"status": "ok", "version": state["version"]}).encode())

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/healthz", state
    finally:
        httpd.shutdown()
        httpd.server_close()


def kinds(result) -> list[str]:
    return [str(e.kind) for e in result.events]


def test_push_sends_the_stage_tag_and_the_rollback_tag_to_the_remote(registry, tmp_path):
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", str(origin))
    git(registry, "remote", "add", "origin", str(origin))
    modelgit.promote(registry, "churn", "0.1.0", "production")
    request = modelgit.RolloutRequest(
        "churn", "0.2.0", health_cmd="exit 1", window=1, interval=0.1, push=True
    )
    result = modelgit.rollout(registry, request)
    assert not result.succeeded
    remote_tags = {line.split("refs/tags/")[1] for line in git(registry, "ls-remote", "--tags",
                   str(origin)).splitlines()}  # fmt: skip
    assert {t.removesuffix("^{}") for t in remote_tags} == {
        "churn#production#2",
        "churn#production#3",
    }
    assert kinds(result)[:2] == ["promoted", "pushed"]
    assert "pushed" in kinds(result)[kinds(result).index("rolled-back") :]


def test_checks_start_only_once_the_new_version_answers(registry, serving):
    url, state = serving
    modelgit.promote(registry, "churn", "0.1.0", "production")
    # CI "deploys" v0.2.0 a moment after the tag: until then the old version answers.
    timer = threading.Timer(0.6, lambda: state.update(version="0.2.0"))
    timer.start()
    request = modelgit.RolloutRequest("churn", "0.2.0", health_url=url, expect_version=True,
                                      window=0.5, interval=0.1, ready_timeout=10)  # fmt: skip
    result = modelgit.rollout(registry, request)
    timer.join()
    assert result.succeeded, result.events
    steps = kinds(result)
    assert steps[:2] == ["promoted", "waiting"] and "ready" in steps
    assert "healthy" not in steps[: steps.index("ready")]
    ready = result.events[steps.index("ready")]
    assert ready.at >= 0.5 and "serving v0.2.0" in ready.detail


def test_a_version_that_never_serves_is_rolled_back_after_the_ready_timeout(registry, serving):
    url, _ = serving  # keeps answering 0.1.0
    modelgit.promote(registry, "churn", "0.1.0", "production")
    started = time.monotonic()
    request = modelgit.RolloutRequest("churn", "0.2.0", health_url=url, expect_version=True,
                                      window=60, interval=0.1, ready_timeout=0.5)  # fmt: skip
    result = modelgit.rollout(registry, request)
    assert time.monotonic() - started < 5
    assert not result.succeeded and production(registry) == "0.1.0"
    message = tag_message(registry, result.rolled_back)
    assert "failed:" in message and "was not serving after 0.5 s" in message
    assert "healthy" not in kinds(result)


def test_ready_cmd_gates_the_checks(registry, tmp_path):
    flag = tmp_path / "deployed"
    timer = threading.Timer(0.4, flag.touch)
    timer.start()
    request = modelgit.RolloutRequest("churn", "0.2.0", health_cmd="true", window=0.3,
                                      interval=0.1, ready_cmd=f"test -f {flag}")  # fmt: skip
    result = modelgit.rollout(registry, request)
    timer.join()
    assert result.succeeded
    steps = kinds(result)
    assert steps.index("ready") < steps.index("healthy")


@pytest.mark.parametrize(("choice", "stays"), [("rollback", "0.1.0"), ("keep", "0.2.0")])
def test_ctrl_c_rolls_back_unless_told_to_keep(registry, choice, stays):
    modelgit.promote(registry, "churn", "0.1.0", "production")
    seen = []

    def interrupt(event):
        seen.append(event)
        if event.kind == "healthy":
            raise KeyboardInterrupt

    request = modelgit.RolloutRequest("churn", "0.2.0", health_cmd="true", window=30,
                                      interval=0.1, on_interrupt=choice)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        modelgit.rollout(registry, request, progress=interrupt)
    assert production(registry) == stays
    assert ("rolled-back" in [str(e.kind) for e in seen]) is (choice == "rollback")


def test_the_version_already_in_the_stage_gets_a_health_check_only(registry):
    modelgit.promote(registry, "churn", "0.2.0", "production")
    before = git(registry, "tag", "--list")
    result = runner.invoke(
        app,
        [
            "rollout",
            "churn",
            "0.2.0",
            "--health-cmd",
            "exit 1",
            "--window",
            "1",
            "--interval",
            "0.1",
            "-C",
            str(registry),
        ],
    )
    assert result.exit_code == 1
    assert "already held the stage, so nothing was rolled back" in result.stderr
    assert git(registry, "tag", "--list") == before  # never unassigned, nothing tagged
    assert production(registry) == "0.2.0"


FAKE_KUBECTL = """\
#!{python}
# A stand-in for a cluster (none exists here): answers the two kubectl calls rollout makes
# from files the test writes, the way kubectl and the Argo Rollouts plugin answer them.
import pathlib, sys
state = pathlib.Path({state!r})
args = sys.argv[1:]
with open(state / "calls", "a") as log:
    log.write(" ".join(args) + "\\n")
if args[:2] == ["get", "rollout"]:
    print((state / "applied").read_text(), end="")
elif args[:3] == ["argo", "rollouts", "status"]:
    statuses = (state / "statuses").read_text().split("\\n")
    done = (state / "done").read_text().count("x") if (state / "done").exists() else 0
    status = statuses[min(done, len(statuses) - 1)]
    (state / "done").write_text("x" * (done + 1))
    print(status)
    if status == "Degraded":
        sys.exit(1)
else:
    sys.exit(f"unexpected kubectl call: {{args}}")
"""


@pytest.fixture
def kubectl(tmp_path, monkeypatch) -> Path:
    state = tmp_path / "cluster"
    state.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "kubectl"
    script.write_text(FAKE_KUBECTL.format(python=sys.executable, state=str(state)))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return state


def test_argo_rollouts_status_is_the_health_signal(registry, kubectl):
    modelgit.promote(registry, "churn", "0.1.0", "production")
    (kubectl / "applied").write_text("0.2.0")
    (kubectl / "statuses").write_text("Progressing - more replicas need to be updated\nDegraded")
    request = modelgit.RolloutRequest("churn", "0.2.0", engine="argo", namespace="ml",
                                      window=10, interval=0.1)  # fmt: skip
    result = modelgit.rollout(registry, request)
    assert not result.succeeded and production(registry) == "0.1.0"
    calls = (kubectl / "calls").read_text().splitlines()
    assert calls[0].startswith("get rollout churn -n ml -o=jsonpath=")
    assert calls[1:] == ["argo rollouts status churn -n ml --watch=false"] * 2
    assert [e.detail for e in result.events if e.kind == "unhealthy"] == ["exit 1: Degraded"]


def test_argo_waits_for_the_rollout_to_hold_the_new_template(registry, kubectl):
    (kubectl / "applied").write_text("0.1.0")  # CI has not applied the new version yet
    (kubectl / "statuses").write_text("Healthy")
    threading.Timer(0.4, lambda: (kubectl / "applied").write_text("0.2.0")).start()
    request = modelgit.RolloutRequest("churn", "0.2.0", engine="argo", window=0.3,
                                      interval=0.1, ready_timeout=10)  # fmt: skip
    result = modelgit.rollout(registry, request)
    assert result.succeeded
    calls = (kubectl / "calls").read_text().splitlines()
    first_status = next(i for i, c in enumerate(calls) if c.startswith("argo"))
    assert all(c.startswith("get rollout") for c in calls[:first_status]) and first_status >= 2


def test_notify_posts_slack_compatible_events(registry, webhook):
    url, got = webhook
    modelgit.promote(registry, "churn", "0.1.0", "production")
    healthy = modelgit.RolloutRequest("churn", "0.2.0", health_cmd="true", window=0.2,
                                      interval=0.1, notify=url)  # fmt: skip
    assert modelgit.rollout(registry, healthy).succeeded
    assert [p["event"] for p in got.posts] == ["promoted", "succeeded"]
    assert got.posts[0]["text"] == "churn v0.2.0 promoted to production (churn#production#2)"
    modelgit.promote(registry, "churn", "0.1.0", "staging")
    failing = modelgit.RolloutRequest("churn", "0.1.0", stage="staging", health_cmd="false",
                                      window=1, interval=0.1, notify=url)  # fmt: skip
    modelgit.rollout(registry, failing)  # already in staging: a health check, no events
    assert len(got.posts) == 2
    modelgit.rollout(
        registry,
        modelgit.RolloutRequest(
            "churn", "0.1.0", health_cmd="false", window=1, interval=0.1, notify=url
        ),
    )
    assert [p["event"] for p in got.posts[2:]] == ["promoted", "rolled-back"]
    assert got.posts[-1]["text"].startswith("churn v0.1.0 rolled back in production: health")
    assert got.posts[-1]["restored"] == "0.2.0"


def test_rollback_never_restores_a_version_that_failed(registry):
    modelgit.promote(registry, "churn", "0.2.0", "production")
    failing = modelgit.RolloutRequest("churn", "0.1.0", health_cmd="exit 7", window=1,
                                      interval=0.1)  # fmt: skip
    result = modelgit.rollout(registry, failing)
    assert production(registry) == "0.2.0"
    message = tag_message(registry, result.rolled_back)
    assert "version: 0.1.0" in message.split("failed:")[1]
    assert "health check failed (exit 7)" in message
    refused = runner.invoke(app, ["rollback", "churn", "-C", str(registry)])
    assert refused.exit_code == 2
    assert "no earlier version in production" in refused.stderr
    assert "failed there: v0.1.0" in refused.stderr
    by_name = runner.invoke(app, ["rollback", "churn", "--to", "0.1.0", "-C", str(registry)])
    assert by_name.exit_code == 2 and "v0.1.0 failed in production (health" in by_name.stderr
    forced = runner.invoke(app, ["rollback", "churn", "--to", "0.1.0", "--force",
                                 "-C", str(registry)])  # fmt: skip
    assert forced.exit_code == 0 and production(registry) == "0.1.0"


def test_rollback_to_obeys_the_promotion_order(registry):
    (registry / ".modelgit.yaml").write_text(
        "stages: [staging, production]\npromotion_order: [staging, production]\n"
    )
    modelgit.promote(registry, "churn", "0.2.0", "staging")
    modelgit.promote(registry, "churn", "0.2.0", "production")
    modelgit.promote(registry, "churn", "0.1.0", "production", force=True)
    with pytest.raises(PromotionError, match=r"v0\.1\.0 is already in production"):
        modelgit.rollback(registry, "churn", "production", to="0.1.0")
    modelgit.rollback(registry, "churn", "production", to="0.2.0")  # it passed staging
    with pytest.raises(PromotionError, match=r"v0\.1\.0 has not been in staging"):
        modelgit.rollback(registry, "churn", "production", to="0.1.0")
    forced = modelgit.rollback(registry, "churn", "production", to="0.1.0", force=True)
    assert "forced: true" in tag_message(registry, forced.tag)


def held(repo) -> dict:
    return {s: v for s, v in modelgit.list_models(repo)[0].stages.items() if v is not None}


def archive_to(repo, stage: str = "archived") -> None:
    (repo / ".modelgit.yaml").write_text(f"retention:\n  archive_stage: {stage}\n")


def quick(version: str, health: str = "true", **options) -> modelgit.RolloutRequest:
    return modelgit.RolloutRequest(
        "churn", version, health_cmd=health, window=0.2, interval=0.1, force=True, **options
    )


def test_a_successful_rollout_archives_the_version_it_replaced(registry):
    archive_to(registry)
    modelgit.promote(registry, "churn", "0.1.0", "production", force=True)
    result = runner.invoke(
        app,
        ["rollout", "churn@v0.2.0", "--health-cmd", "true", "--window", "0.2",
         "--interval", "0.1", "--force", "-C", str(registry)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    tag = "churn#archived#3"
    assert f"churn v0.2.0 is in production; the version it replaced is archived ({tag})" in (
        result.stdout
    )
    assert f"archived: v0.1.0 to archived ({tag})" in result.stdout
    assert held(registry) == {"archived": "0.1.0", "production": "0.2.0"}
    assert git(registry, "rev-parse", f"{tag}^{{}}") == git(
        registry, "rev-parse", "churn@v0.1.0^{}"
    )
    message = tag_message(registry, tag)
    assert "action: archive" in message and "replaced_by: 0.2.0" in message
    # Rolling out the version production already holds moves nothing and archives nothing.
    again = modelgit.rollout(registry, quick("0.2.0"))
    assert again.succeeded and again.promoted is None and again.archived is None
    assert "churn#archived#4" not in git(registry, "tag")


def test_a_failed_rollout_archives_nothing(registry):
    archive_to(registry)
    modelgit.promote(registry, "churn", "0.1.0", "production", force=True)
    result = modelgit.rollout(registry, quick("0.2.0", health="false"))
    assert not result.succeeded and result.rolled_back and result.archived is None
    assert "archived" not in {str(e.kind) for e in result.events}
    assert held(registry) == {"production": "0.1.0"}


def test_a_replaced_version_another_stage_holds_is_not_archived(registry):
    archive_to(registry)
    modelgit.promote(registry, "churn", "0.1.0", "production", force=True)
    modelgit.promote(registry, "churn", "0.1.0", "staging")
    result = modelgit.rollout(registry, quick("0.2.0"))
    assert result.succeeded and result.archived is None
    assert result.events[-1].kind == "not-archived"
    assert result.events[-1].detail == "v0.1.0: staging still holds it"
    assert "archived" not in held(registry)
    # Without retention.archive_stage, a rollout archives nothing and says nothing of it.
    (registry / ".modelgit.yaml").unlink()
    plain = modelgit.rollout(registry, quick("0.1.0"))
    assert plain.succeeded and plain.archived is None
    assert {str(e.kind) for e in plain.events}.isdisjoint({"archived", "not-archived"})


def test_archiving_to_the_stage_rolled_out_to_is_refused_before_any_tag(registry):
    archive_to(registry, "production")
    before = git(registry, "tag")
    with pytest.raises(modelgit.InputError, match="archive_stage is 'production'"):
        modelgit.rollout(registry, quick("0.2.0"))
    archive_to(registry, "Not_A_Stage")
    with pytest.raises(modelgit.InputError, match="archive stage 'Not_A_Stage'"):
        modelgit.rollout(registry, quick("0.2.0"))
    assert git(registry, "tag") == before


def test_a_working_stage_is_refused_as_the_archive_stage_before_any_tag(registry):
    modelgit.promote(registry, "churn", "0.1.0", "production", force=True)
    modelgit.promote(registry, "churn", "0.1.0", "staging")
    modelgit.promote(registry, "churn", "0.2.0", "staging")
    # Listed in `stages:`, staging is no default stage; it moved by promotion: a working stage.
    (registry / ".modelgit.yaml").write_text(
        "stages: [staging, production]\nretention:\n  archive_stage: staging\n"
    )
    before = git(registry, "tag")
    result = runner.invoke(
        app,
        ["rollout", "churn@v0.2.0", "--health-cmd", "true", "--window", "0.2",
         "--interval", "0.1", "--force", "-C", str(registry)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert "archive stage 'staging' is a working stage: churn#staging#2 assigned v0.1.0" in (
        result.stderr
    )
    assert git(registry, "tag") == before
    archive_to(registry, "staging")  # no `stages:`: staging is one of promote's defaults
    with pytest.raises(modelgit.InputError, match="promote uses it"):
        modelgit.rollout(registry, quick("0.2.0"))
    assert git(registry, "tag") == before


def test_a_version_archived_before_is_not_archived_again_and_the_event_says_so(registry):
    archive_to(registry)
    modelgit.promote(registry, "churn", "0.1.0", "production", force=True)  # #1
    assert modelgit.rollout(registry, quick("0.2.0")).archived == "churn#archived#3"
    assert modelgit.rollout(registry, quick("0.1.0")).archived == "churn#archived#5"
    assert held(registry)["archived"] == "0.2.0"

    again = modelgit.rollout(registry, quick("0.2.0"))  # replaces v0.1.0, archived at #3

    assert again.succeeded and again.archived is None
    assert again.events[-1].kind == "not-archived"
    assert again.events[-1].detail == "v0.1.0 was archived before (churn#archived#3)"
