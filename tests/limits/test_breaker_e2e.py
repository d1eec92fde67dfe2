"""Circuit breakers through a real host: they open on a failing server, answer at once while open,
and close once it recovers; their state shows in /ready, the admin API and /metrics."""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from mcpctl.protocol import codes
from tests.limits.hosting import admin_servers, serve_config, server_status, stdio_server
from tests.support.host import HostProcess, base_env, fixture, mcpctl_command
from tests.support.mcp_http import ModernClient
from tests.support.waiting import wait_until


def breaker_metric(host: HostProcess, server: str) -> str:
    """The state whose mcp_breaker_state series is 1."""
    text = httpx.get(host.base_url + "/metrics", timeout=5).text
    family = next(f for f in text_string_to_metric_families(text) if f.name == "mcp_breaker_state")
    return next(s.labels["state"] for s in family.samples if s.labels["server"] == server and s.value == 1)


def test_breaker_opens_on_timeouts_answers_fast_and_closes_after_recovery(home: Path, tmp_path: Path) -> None:
    cancel_log = tmp_path / "cancelled.log"
    # open_for leaves room for the checks below (a CLI start included) on a busy machine
    slow = stdio_server(
        fixture("slow.py"),
        call_timeout="1s",
        env={"FIXTURE_CANCEL_LOG": str(cancel_log)},
        breaker={"failures": 2, "open_for": "5s"},
    )
    host = serve_config(home, {"servers": {"slow": slow}})
    try:
        with ModernClient(host.url) as client:
            hang = {"name": "slow__sleep", "arguments": {"seconds": 30, "steps": 1}}
            for _ in range(2):
                assert client.request("tools/call", hang)[-1]["error"]["code"] == codes.BACKEND_TIMEOUT

            # while open, calls are answered at once instead of waiting out the 1 s timeout
            latencies = []
            for _ in range(20):
                started = time.monotonic()
                error = client.request("tools/call", hang)[-1]["error"]
                latencies.append(time.monotonic() - started)
                assert error["code"] == codes.CIRCUIT_OPEN
                assert "temporarily unavailable" in error["message"]
                assert error["data"]["server"] == "slow"
                assert 4 < error["data"]["retryAfter"] <= 5
            print(
                f"\nrefused while open: median {statistics.median(latencies) * 1000:.1f} ms, "
                f"max {max(latencies) * 1000:.1f} ms (a failing call took >= 1000 ms)"
            )
            assert statistics.median(latencies) < 0.1
            assert max(latencies) < 0.5

            # the state shows in /ready, the admin API, `mcpctl servers` and /metrics
            assert server_status(host, "slow")["breaker"]["state"] == "open"
            assert admin_servers(host)["servers"][0]["breaker"]["state"] == "open"
            listed = subprocess.run(
                mcpctl_command("servers", "--json"), env=base_env(home), capture_output=True, check=True
            )
            assert json.loads(listed.stdout)["servers"][0]["breaker"]["state"] == "open"
            assert breaker_metric(host, "slow") == "open"

            wait_until(
                lambda: server_status(host, "slow")["breaker"]["state"] == "half-open",
                10,
                message="half-open",
            )
            assert breaker_metric(host, "slow") == "half-open"
            assert (
                client.call_tool("slow__sleep", {"seconds": 0, "steps": 1})["content"][0]["text"] == "slept"
            )
            assert server_status(host, "slow")["breaker"] == {
                "state": "closed",
                "failures": 0,
                "retryIn": None,
            }
            assert breaker_metric(host, "slow") == "closed"
        # the two timed-out calls were cancelled at the backend; the refused ones never reached it
        wait_until(
            lambda: len(cancel_log.read_text().splitlines()) == 2, 5, message="two cancellations logged"
        )
    finally:
        assert host.stop() == 0


def test_a_restarted_server_gets_a_probe_without_waiting_out_the_breaker(home: Path) -> None:
    # restarts wait a second or more: time for the refusal below to arrive while the breaker is open
    crashing = stdio_server(
        fixture("crashing.py"), breaker={"failures": 2, "open_for": "10m"}, restart={"initial_backoff": "2s"}
    )
    host = serve_config(home, {"servers": {"crashing": crashing}})
    try:
        with ModernClient(host.url) as client:
            # the child dies mid-call; the next call finds it gone (or, if the supervisor was
            # quick, kills the restarted child too): two failures in a row either way
            for _ in range(2):
                error = client.request("tools/call", {"name": "crashing__crash"})[-1]["error"]
                assert error["code"] == codes.BACKEND_UNAVAILABLE
            # open: refused at once, though the supervisor is already bringing the server back
            refused = client.request(
                "tools/call", {"name": "crashing__echo", "arguments": {"message": "hi"}}
            )[-1]
            assert refused["error"]["code"] == codes.CIRCUIT_OPEN
            assert refused["error"]["data"]["retryAfter"] > 500

            def restarted_and_half_open() -> bool:
                status = server_status(host, "crashing")
                return (
                    status["state"] == "ready"
                    and status["restarts"] >= 1
                    and status["breaker"]["state"] == "half-open"
                )

            wait_until(restarted_and_half_open, 20, message="restart puts the breaker half-open")
            assert client.call_tool("crashing__echo", {"message": "back"})["content"][0]["text"] == "back"
            assert server_status(host, "crashing")["breaker"]["state"] == "closed"
    finally:
        assert host.stop() == 0
