"""/metrics through a real host, scraped and parsed with prometheus-client's own text parsers."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from tests.limits.hosting import serve_config, stdio_server
from tests.support.host import HostProcess, fixture
from tests.support.mcp_http import LegacyClient, ModernClient
from tests.support.waiting import wait_until

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(host: HostProcess) -> Samples:
    response = httpx.get(host.base_url + "/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def calls(
    samples: Samples, outcome: str, tool: str, server: str = "echo", method: str = "tools/call"
) -> float | None:
    return value(samples, "mcp_requests_total", server=server, method=method, tool=tool, outcome=outcome)


def test_metrics_count_calls_sessions_children_breakers_and_limits(home: Path) -> None:
    config = {
        "servers": {"echo": stdio_server(fixture("echo.py"))},
        "limits": {"rules": [{"scope": "tool", "match": "echo__fail", "requests": 1, "per": "1h"}]},
    }
    host = serve_config(home, config)
    try:
        with ModernClient(host.url) as client, LegacyClient(host.url):
            for _ in range(2):
                client.call_tool("echo__echo", {"message": "m"})
            client.request("tools/call", {"name": "echo__fail"})  # isError: a tool error
            client.request("tools/call", {"name": "echo__fail"})  # over its limit
            client.request("tools/call", {"name": "echo__boom"})  # a JSON-RPC error from the server
            client.request("tools/call", {"name": "made-up-by-the-client"})
            client.result("prompts/get", {"name": "echo__greeting", "arguments": {"name": "bob"}})
            samples = scrape(host)

            assert calls(samples, "ok", "echo__echo") == 2
            assert calls(samples, "tool_error", "echo__fail") == 1
            assert calls(samples, "rate_limited", "echo__fail") == 1
            assert calls(samples, "error", "echo__boom") == 1
            assert calls(samples, "ok", "", method="prompts/get") == 1
            # a name the catalog does not know is not a label value: no client can grow the series
            assert calls(samples, "unknown", "", server="") == 1
            assert not any("made-up" in v for _, labels in samples for _, v in labels)
            tool_call = {"server": "echo", "method": "tools/call"}
            assert (
                value(
                    samples, "mcp_request_errors_total", **tool_call, tool="echo__fail", outcome="tool_error"
                )
                == 1
            )
            assert (
                value(samples, "mcp_request_errors_total", **tool_call, tool="echo__echo", outcome="ok")
                is None
            )

            latency = {"server": "echo", "method": "tools/call", "tool": "echo__echo"}
            assert value(samples, "mcp_request_duration_seconds_count", **latency) == 2
            assert value(samples, "mcp_request_duration_seconds_bucket", le="+Inf", **latency) == 2
            assert 0 < (value(samples, "mcp_request_duration_seconds_sum", **latency) or 0) < 5

            assert value(samples, "mcp_active_sessions") == 1
            assert value(samples, "mcp_server_up", server="echo") == 1
            assert value(samples, "mcp_server_state", server="echo", state="ready") == 1
            assert value(samples, "mcp_server_restarts_total", server="echo") == 0
            assert value(samples, "mcp_breaker_state", server="echo", state="closed") == 1
            assert value(samples, "mcp_breaker_state", server="echo", state="open") == 0
            assert value(samples, "mcp_limit_refusals_total", scope="tool", level="call") == 1
            assert value(samples, "mcp_limit_refusals_total", scope="global", level="http") == 0
            # the audit trail (on by default) reports its queue and drops
            assert value(samples, "mcp_audit_queue_depth") is not None
            assert value(samples, "mcp_audit_dropped_total") == 0

        restart = httpx.post(
            host.base_url + "/admin/servers/echo/restart",
            headers={"authorization": f"Bearer {host.admin_token}"},
        )
        assert restart.status_code == 202

        def restarted() -> bool:
            now = scrape(host)
            return (
                value(now, "mcp_server_restarts_total", server="echo") == 1
                and value(now, "mcp_server_up", server="echo") == 1
            )

        wait_until(restarted, 10, message="restart counted")
        assert value(scrape(host), "mcp_active_sessions") == 0  # the legacy client ended its session
    finally:
        assert host.stop() == 0


def test_openmetrics_when_the_scraper_asks_for_it(home: Path) -> None:
    host = serve_config(home, {"servers": {"echo": stdio_server(fixture("echo.py"))}})
    try:
        response = httpx.get(
            host.base_url + "/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"}
        )
        assert response.headers["content-type"].startswith("application/openmetrics-text")
        names = {family.name for family in parse_openmetrics(response.text)}
        assert {"mcp_active_sessions", "mcp_server_up", "mcp_breaker_state"} <= names
        assert httpx.post(host.base_url + "/metrics").status_code == 405
    finally:
        assert host.stop() == 0


def test_metrics_can_be_turned_off(home: Path) -> None:
    host = serve_config(
        home, {"servers": {"echo": stdio_server(fixture("echo.py"))}, "metrics": {"enabled": False}}
    )
    try:
        assert httpx.get(host.base_url + "/metrics").status_code == 404
    finally:
        assert host.stop() == 0
