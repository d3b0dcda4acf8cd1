"""Health-gated rollout against a real local HTTP server (and a health command)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import pytest
from conftest import git
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import InputError

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
