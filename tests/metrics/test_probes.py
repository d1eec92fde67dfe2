"""/health and /ready as Kubernetes would use them: no auth, JSON, never cached, 503 while not ready."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.limits.hosting import admin_servers, serve_config, stdio_server
from tests.support.host import fixture
from tests.support.waiting import wait_until


def test_ready_is_503_while_a_required_server_is_down_and_tells_no_secrets(home: Path) -> None:
    config = {
        "servers": {
            "echo": stdio_server(fixture("echo.py")),
            "broken": stdio_server(fixture("crashing.py", "--crash-at-start")),
        }
    }
    host = serve_config(home, config, wait_ready=False)
    try:

        def crashed_with_output() -> bool:
            broken = next(s for s in admin_servers(host)["servers"] if s["name"] == "broken")
            return "crashing at start" in str(broken)

        wait_until(crashed_with_output, 10, message="the admin API to show what the child printed")
        ready = httpx.get(host.base_url + "/ready")
        assert ready.status_code == 503
        assert ready.headers["content-type"] == "application/json"
        assert ready.headers["cache-control"] == "no-store"
        body = ready.json()
        assert body["ready"] is False
        broken = next(s for s in body["servers"] if s["name"] == "broken")
        assert broken["state"] in ("starting", "backoff", "crash-loop")
        assert broken["breaker"]["state"] in ("closed", "open", "half-open")
        # what a child printed (it could be anything, secrets included) stays behind the admin API
        assert "crashing at start" not in ready.text
        assert "stderr" not in ready.text
        assert "lastError" not in ready.text

        health = httpx.get(host.base_url + "/health")  # alive, though not ready: do not restart the pod
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert health.headers["cache-control"] == "no-store"
    finally:
        assert host.stop() == 0


def test_an_optional_server_being_down_does_not_make_the_gateway_unready(home: Path) -> None:
    config = {
        "servers": {
            "echo": stdio_server(fixture("echo.py")),
            "broken": stdio_server(fixture("crashing.py", "--crash-at-start"), required=False),
        }
    }
    host = serve_config(home, config)
    try:
        ready = httpx.get(host.base_url + "/ready")
        assert ready.status_code == 200
        assert ready.json()["ready"] is True
    finally:
        assert host.stop() == 0
