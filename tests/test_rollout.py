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
from modelgit.commands import stages
from modelgit.commands.rollout import HealthCheck, rollout
from modelgit.errors import InvalidNameError

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
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/healthz", state
    finally:
        httpd.shutdown()


def production(repo):
    return modelgit.list_models(repo)[0].stages.get("production")


def test_a_healthy_rollout_completes_the_promotion(registry, server):
    url, health = server
    stages.promote(registry, "churn", "0.1.0", "production")
    events = []
    result = rollout(registry, "churn", "0.2.0", HealthCheck(url=url), window=1.0, interval=0.2,
                     progress=events.append)  # fmt: skip
    assert result.succeeded and result.rolled_back is None
    assert production(registry) == "0.2.0"
    assert events[0].kind == "promoted" and events[-1].kind == "completed"
    assert health.requests >= 4 and all(
        e.detail == "HTTP 200" for e in events if e.kind == "healthy"
    )


def test_failing_mid_window_rolls_back_and_alerts(registry, server, tmp_path):
    url, health = server
    health.healthy_for = 3
    stages.promote(registry, "churn", "0.1.0", "production")
    before = set(git(registry, "tag", "--list").split())
    alert = tmp_path / "alert.txt"
    started = time.monotonic()
    alert_command = f"echo $MODELGIT_VERSION $MODELGIT_ROLLED_BACK_TO > {alert}"
    result = runner.invoke(app, [
        "rollout", "churn", "0.2.0", "--health-url", url, "--window", "5", "--interval", "0.2",
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
    result = rollout(
        registry, "churn", "0.2.0", HealthCheck(command="exit 3"), window=1, interval=0.1
    )
    assert not result.succeeded and result.rolled_back == "churn#production!#2"
    assert production(registry) is None
    assert [e.detail for e in result.events if e.kind == "unhealthy"] == ["exit 3"]


def test_health_check_input_is_checked():
    with pytest.raises(InvalidNameError, match="exactly one"):
        HealthCheck()
    with pytest.raises(InvalidNameError, match="http"):
        HealthCheck(url="ftp://x")
    failing = HealthCheck(url="http://127.0.0.1:9/healthz", timeout=1)  # nothing listens
    healthy, seen = failing.run()
    assert not healthy and seen.startswith("unreachable")
