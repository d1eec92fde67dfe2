"""Chaos: children killed under load, and a thousand malformed requests."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil

from mcpctl.backends.reaper import MARKER as REAPER_MARKER
from mcpctl.protocol.headers import standard_headers
from tests.support.host import server_status, start_host, write_config
from tests.support.mcp_http import ACCEPT, ModernClient
from tests.support.waiting import wait_until


def test_kill_9_of_a_child_under_load_fails_its_calls_fast_and_recovers(home: Path) -> None:
    config = write_config(
        home,
        """
[servers.slow]
command = "{python}"
args = ["{fixtures}/slow.py"]
restart = { initial_backoff = 0.05 }

[servers.echo]
command = "{python}"
args = ["{fixtures}/echo.py"]
""",
    )
    host = start_host(home, "--config", str(config))
    try:
        victim = int(server_status(host, "slow")["pid"])  # type: ignore[arg-type]
        running = threading.Semaphore(0)

        def slow_call(i: int) -> tuple[dict[str, Any], float]:
            """A long call that reports (via the semaphore) once the child is working on it."""
            body = ModernClient(host.url).body(
                "tools/call",
                {
                    "name": "slow__sleep",
                    "arguments": {"seconds": 30, "steps": 300},
                    "_meta": {"progressToken": i},
                },
            )
            started = time.monotonic()
            final: dict[str, Any] = {}
            with httpx.stream(
                "POST", host.url, json=body, headers={"accept": ACCEPT, **standard_headers(body)}, timeout=30
            ) as response:
                signalled = False
                for line in response.iter_lines():
                    if not line.startswith("data: "):
                        continue
                    msg = json.loads(line[6:])
                    if msg.get("method") == "notifications/progress" and not signalled:
                        signalled = True
                        running.release()
                    if "id" in msg:
                        final = msg
                if response.headers["content-type"].startswith("application/json"):
                    final = response.json()
            return final, time.monotonic() - started

        def echo_call(i: int) -> str:
            with ModernClient(host.url) as client:
                return str(client.call_tool("echo__echo", {"message": str(i)})["content"][0]["text"])

        with ThreadPoolExecutor(16) as pool:
            slow = [pool.submit(slow_call, i) for i in range(8)]
            for _ in range(8):
                assert running.acquire(timeout=20), "every slow call reached the child"
            os.kill(victim, signal.SIGKILL)
            echoes = [pool.submit(echo_call, i) for i in range(50)]
            outcomes = [f.result(timeout=20) for f in slow]
            assert [e.result(timeout=20) for e in echoes] == [str(i) for i in range(50)]
        for final, took in outcomes:
            assert final["error"]["code"] == -31000, final  # unavailable: an error at once, not a hang
            assert took < 15
        wait_until(
            lambda: (
                server_status(host, "slow")["state"] == "ready"
                and server_status(host, "slow")["pid"] != victim
            )
        )
        with ModernClient(host.url) as client:
            assert (
                client.call_tool("slow__sleep", {"seconds": 0.05, "steps": 1})["content"][0]["text"]
                == "slept"
            )
    finally:
        host.stop()


def test_kill_9_of_mcpctl_takes_every_childs_process_group_along(home: Path) -> None:
    """The parent-death signal reaches only the direct child; the `sleep` a shell started in the
    background does not read stdin either. The watchdog kills the whole group."""
    config = write_config(
        home,
        """
[servers.wrapped]
command = "bash"
args = ["-c", "sleep 987 & '{python}' '{fixtures}/echo.py'"]
""",
    )
    host = start_host(home, "--config", str(config))
    mcpctl = psutil.Process(host.proc.pid)

    def sleeper() -> psutil.Process | None:
        return next((p for p in mcpctl.children(recursive=True) if p.cmdline() == ["sleep", "987"]), None)

    found = wait_until(sleeper, message="the backgrounded sleep to run")
    descendants = mcpctl.children(recursive=True)
    assert any(REAPER_MARKER in p.cmdline() for p in descendants), "the watchdog runs"
    host.proc.kill()
    host.proc.wait(5)
    _, alive = psutil.wait_procs([found, *descendants], timeout=10)
    assert not alive, f"left behind: {[(p.pid, p.cmdline()) for p in alive]}"


def malformed_requests(url: str) -> list[tuple[str, dict[str, str], bytes]]:
    """A thousand ways to send nonsense: bad JSON, bad JSON-RPC, bad MCP, bad HTTP."""
    modern_meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    bodies: list[bytes] = [
        b"",
        b"{",
        b"}",
        b"[]",
        b"[1,2]",
        b"null",
        b"true",
        b"42",
        b'"str"',
        b"\xff\xfe\x00garbage",
        b"{'single': 1}",
        b'{"jsonrpc":"2.0","id":1,"method":"ping"',
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b'{"jsonrpc":"2.0","id":99999999999999999999999999,"method":"ping"}',
    ]
    shapes: list[Any] = [
        {},
        {"jsonrpc": "1.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0"},
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "2.0", "id": None, "method": "ping"},
        {"jsonrpc": "2.0", "id": True, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1.5, "method": "ping"},
        {"jsonrpc": "2.0", "id": {"x": 1}, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1, "method": 7},
        {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]},
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": 5}},
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "echo__echo", "arguments": "x", "_meta": modern_meta},
        },
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": 7}},
        },
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"_meta": "nope"}},
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "resources/read",
            "params": {"uri": ["x"], "_meta": modern_meta},
        },
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/list",
            "params": {"cursor": "!!notbase64", "_meta": modern_meta},
        },
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "subscriptions/listen",
            "params": {"notifications": "all", "_meta": modern_meta},
        },
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": 5, "capabilities": "x"},
        },
        {"jsonrpc": "2.0", "id": "r", "result": {}},
        {"jsonrpc": "2.0", "id": "r", "error": "bad"},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": {"deep": [1]}}},
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "completion/complete",
            "params": {"ref": "x", "_meta": modern_meta},
        },
        {"jsonrpc": "2.0", "id": 1, "method": "\u0000\u202e", "params": {"_meta": modern_meta}},
    ]
    header_sets = [
        {},
        {"content-type": "text/plain"},
        {"mcp-session-id": "nonexistent"},
        {"mcp-session-id": "../../etc/passwd"},
        {"mcp-protocol-version": "2026-07-28"},
        {"mcp-protocol-version": "2026-07-28", "mcp-method": "wrong"},
        {"mcp-protocol-version": "1999-01-01"},
        {"mcp-name": "=?base64?!!!?="},
        {"accept": "image/png"},
        {"last-event-id": "x" * 1000},
    ]
    requests: list[tuple[str, dict[str, str], bytes]] = []
    rng = __import__("random").Random(1234)
    while len(requests) < 1000:
        headers = {"accept": ACCEPT, "content-type": "application/json", **rng.choice(header_sets)}
        if rng.random() < 0.4:
            body = rng.choice(bodies)
        else:
            shape = rng.choice(shapes)
            body = json.dumps(shape).encode()
            if rng.random() < 0.2:
                body = body[: rng.randrange(max(len(body), 1))]  # truncated
        method = rng.choice(["POST"] * 8 + ["GET", "DELETE", "PUT", "PATCH"])
        requests.append((method, headers, body))
    return requests


def test_a_thousand_malformed_requests_get_4xx_or_json_rpc_errors_never_5xx(home: Path) -> None:
    config = write_config(
        home,
        """
[servers.echo]
command = "{python}"
args = ["{fixtures}/echo.py"]
""",
    )
    host = start_host(home, "--config", str(config))
    try:
        cases = malformed_requests(host.url)

        # One client per worker thread: kept-alive connections see request after malformed request,
        # and the test does not spend its time building a TLS context per request.
        local = threading.local()
        clients: list[httpx.Client] = []

        def send(
            case: tuple[str, dict[str, str], bytes],
        ) -> tuple[int, bytes, tuple[str, dict[str, str], bytes]]:
            method, headers, body = case
            if not hasattr(local, "http"):
                local.http = httpx.Client(timeout=20)
                clients.append(local.http)
            response = local.http.request(method, host.url, headers=headers, content=body)
            return response.status_code, response.content, case

        try:
            with ThreadPoolExecutor(8) as pool:
                results = list(pool.map(send, cases))
        finally:
            for client in clients:
                client.close()
        for status, content, case in results:
            assert status < 500, (status, content[:300], case[0], case[1], case[2][:200])
            if status >= 400 and content:
                parsed = json.loads(content)
                assert "error" in parsed and isinstance(parsed["error"]["code"], int), (content[:300], case)
            elif status == 200 and content.startswith(b"{"):
                parsed = json.loads(content)
                assert "result" in parsed or "error" in parsed
        assert len(results) == 1000
        assert httpx.get(host.base_url + "/health").status_code == 200
        with ModernClient(host.url) as client:
            assert client.call_tool("echo__echo", {"message": "alive"})["content"][0]["text"] == "alive"
        assert "Traceback" not in host.output()
    finally:
        host.stop()
