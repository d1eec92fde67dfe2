"""Per-server call timeouts through a real host: progress resets the clock, logs do not, and a
timed-out call is cancelled at the backend (the fixture logs each cancellation it receives)."""

from __future__ import annotations

import time
from pathlib import Path

from mcpctl.protocol import codes
from tests.limits.hosting import chatty, serve_config, stdio_server
from tests.support.host import fixture
from tests.support.mcp_http import ModernClient
from tests.support.waiting import wait_until

NO_BREAKER = {"enabled": False}


def test_a_timed_out_call_is_answered_and_cancelled_at_the_backend(home: Path, tmp_path: Path) -> None:
    cancel_log = tmp_path / "cancelled.log"
    slow = stdio_server(
        fixture("slow.py"),
        call_timeout="1s",  # long enough for the quick call after it, on a busy machine
        env={"FIXTURE_CANCEL_LOG": str(cancel_log)},
        breaker=NO_BREAKER,
    )
    host = serve_config(home, {"servers": {"slow": slow}})
    try:
        with ModernClient(host.url) as client:
            started = time.monotonic()
            reply = client.request(
                "tools/call", {"name": "slow__sleep", "arguments": {"seconds": 30, "steps": 1}}
            )[-1]
            elapsed = time.monotonic() - started
            assert reply["error"]["code"] == codes.BACKEND_TIMEOUT
            assert "1s without progress" in reply["error"]["message"]
            assert 1.0 <= elapsed < 4.0
            lines = wait_until(
                lambda: cancel_log.exists() and cancel_log.read_text().splitlines(), 5, message="cancel log"
            )
            assert len(lines) == 1
            assert lines[0].startswith("cancelled ")
            # the backend dropped the cancelled work and still answers
            assert (
                client.call_tool("slow__sleep", {"seconds": 0, "steps": 1})["content"][0]["text"] == "slept"
            )
    finally:
        assert host.stop() == 0


def test_progress_resets_the_idle_clock_but_not_the_total(home: Path) -> None:
    slow = stdio_server(fixture("slow.py"), call_timeout="0.6s", max_call_timeout="2.5s", breaker=NO_BREAKER)
    host = serve_config(home, {"servers": {"slow": slow}})
    try:
        with ModernClient(host.url) as client:
            # 1.8 s of work, with progress every 0.1 s: three times the idle timeout, and it finishes
            meta = {"_meta": {"progressToken": "p"}}
            messages = client.request(
                "tools/call", {"name": "slow__sleep", "arguments": {"seconds": 1.8, "steps": 18}, **meta}
            )
            assert messages[-1]["result"]["content"][0]["text"] == "slept"
            assert sum(m.get("method") == "notifications/progress" for m in messages) >= 10
            # ...but progress cannot keep a call alive past max_call_timeout
            started = time.monotonic()
            messages = client.request(
                "tools/call", {"name": "slow__sleep", "arguments": {"seconds": 10, "steps": 100}, **meta}
            )
            assert messages[-1]["error"]["code"] == codes.BACKEND_TIMEOUT
            assert "2.5s in total" in messages[-1]["error"]["message"]
            assert time.monotonic() - started < 5.0
    finally:
        assert host.stop() == 0


def test_log_messages_do_not_reset_the_idle_clock(home: Path) -> None:
    server = stdio_server(chatty(), call_timeout="0.5s", max_call_timeout="20s", breaker=NO_BREAKER)
    host = serve_config(home, {"servers": {"chatty": server}})
    try:
        with ModernClient(host.url) as client:
            started = time.monotonic()
            params = {
                "name": "chatty__chatter",
                "arguments": {"seconds": 10, "every": 0.05},
                "_meta": {"io.modelcontextprotocol/logLevel": "info"},
            }
            messages = client.request("tools/call", params)
            elapsed = time.monotonic() - started
            logs = [m for m in messages if m.get("method") == "notifications/message"]
            assert len(logs) >= 3  # the logs reached the client...
            assert (
                messages[-1]["error"]["code"] == codes.BACKEND_TIMEOUT
            )  # ...and did not keep the call alive
            assert "0.5s without progress" in messages[-1]["error"]["message"]
            assert elapsed < 3.0
    finally:
        assert host.stop() == 0
