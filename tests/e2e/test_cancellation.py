"""Cancellation reaches the backend: a 2026-07-28 client closing its stream, a 2025 client's notification."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx

from mcpctl.protocol.headers import standard_headers
from tests.support.host import HostProcess, start_host, write_config
from tests.support.mcp_http import ACCEPT, LegacyClient, ModernClient
from tests.support.waiting import wait_until


def slow_host(home: Path, log: Path) -> HostProcess:
    # The child only sees the variables its config names (an allow-list keeps the rest out).
    config = write_config(
        home,
        f"""
[servers.slow]
command = "{{python}}"
args = ["{{fixtures}}/slow.py"]
env = {{ FIXTURE_CANCEL_LOG = "{log}" }}
""",
    )
    return start_host(home, "--config", str(config))


def test_closing_a_modern_stream_cancels_the_call_at_the_backend(home: Path, tmp_path: Path) -> None:
    log = tmp_path / "cancelled.log"
    host = slow_host(home, log)
    try:
        with ModernClient(host.url) as client:
            body = client.body(
                "tools/call",
                {
                    "name": "slow__sleep",
                    "arguments": {"seconds": 30, "steps": 300},
                    "_meta": {"progressToken": "p"},
                },
            )
        headers = {"accept": ACCEPT, **standard_headers(body)}
        with httpx.stream("POST", host.url, json=body, headers=headers, timeout=30) as response:
            for line in response.iter_lines():
                if (
                    line.startswith("data: ")
                    and json.loads(line[6:]).get("method") == "notifications/progress"
                ):
                    break  # the child is working on it: now walk away
        wait_until(
            lambda: log.exists() and "cancelled" in log.read_text(), message="the child saw the cancellation"
        )
    finally:
        host.stop()


def test_a_legacy_cancel_notification_reaches_the_backend_with_its_id_mapped(
    home: Path, tmp_path: Path
) -> None:
    log = tmp_path / "cancelled.log"
    host = slow_host(home, log)
    try:
        with LegacyClient(host.url) as client:
            progressed = threading.Event()
            outcome: dict[str, object] = {}

            def call() -> None:
                body = {
                    "jsonrpc": "2.0",
                    "id": "call-7",
                    "method": "tools/call",
                    "params": {
                        "name": "slow__sleep",
                        "arguments": {"seconds": 30, "steps": 300},
                        "_meta": {"progressToken": 7},
                    },
                }
                with client.http.stream(
                    "POST", host.url, json=body, headers=client.headers(), timeout=30
                ) as response:
                    for line in response.iter_lines():
                        if line.startswith("data: "):
                            msg = json.loads(line[6:])
                            if msg.get("method") == "notifications/progress":
                                assert msg["params"]["progressToken"] == 7  # the client's own token, restored
                                progressed.set()
                            elif "id" in msg:
                                outcome["final"] = msg
                                return

            worker = threading.Thread(target=call)
            worker.start()
            assert progressed.wait(20)
            client.notify("notifications/cancelled", {"requestId": "call-7", "reason": "user pressed stop"})
            wait_until(
                lambda: log.exists() and "cancelled" in log.read_text(),
                message="the child saw the cancellation",
            )
            worker.join(20)
        # The backend saw its own id (an integer the gateway chose), never the client's "call-7".
        assert "call-7" not in log.read_text()
    finally:
        host.stop()
